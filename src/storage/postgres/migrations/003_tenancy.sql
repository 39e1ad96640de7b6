-- Namespaces and their API keys (src/tenancy/namespaces.ts, keys.ts). A
-- namespace owns functions (by qualified name, tenancy/names.ts), keys and
-- whatever else is keyed by it; `quotas` is its QuotaSpec as JSON. `default`
-- always exists: every function made before namespaces lives there.
CREATE TABLE namespaces (
  name       TEXT PRIMARY KEY,
  quotas     TEXT NOT NULL DEFAULT '{}',
  created_at TEXT NOT NULL
);
INSERT INTO namespaces (name, quotas, created_at) VALUES ('default', '{}', '1970-01-01T00:00:00.000Z');

-- A key is stored as the SHA-256 of its 256-bit random secret, never the
-- secret; `prefix` is its first characters, to recognise it in a list.
-- Revoked keys stay (revoked_at set) so that a list says when.
CREATE TABLE api_keys (
  id           TEXT PRIMARY KEY,
  namespace    TEXT NOT NULL,
  role         TEXT NOT NULL,
  hash         TEXT NOT NULL UNIQUE,
  prefix       TEXT NOT NULL,
  created_at   TEXT NOT NULL,
  last_used_at TEXT,
  revoked_at   TEXT
);
CREATE INDEX api_keys_by_namespace ON api_keys (namespace);
