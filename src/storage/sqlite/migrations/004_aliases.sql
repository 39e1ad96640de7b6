-- Aliases: a name (prod, staging, ...) for one version of a function, with an
-- optional canary split. function_name is the qualified name (namespace/name,
-- bare in default), so one namespace never sees another's aliases. weights is
-- JSON {"<version>": share}: each share of calls goes to that version, the
-- rest to `version`. A version an alias names cannot be deleted
-- (src/storage/versions.ts); deleting the function deletes its aliases.
CREATE TABLE aliases (
  function_name TEXT NOT NULL,
  alias         TEXT NOT NULL,
  version       INTEGER NOT NULL,
  weights       TEXT NOT NULL,
  updated_at    TEXT NOT NULL,
  PRIMARY KEY (function_name, alias)
);
