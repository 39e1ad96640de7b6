-- Function state (issue 17): a key-value store per function, keyed by the
-- function's qualified name (namespace/name), so namespaces never share one.
-- value is JSON text; expires_at and updated_at are epoch milliseconds
-- (expires_at NULL: never). An expired row is invisible at once and deleted
-- lazily (src/state/kv-store.ts). Keys compare as bytes (BINARY), as in PostgreSQL's "C".
CREATE TABLE kv (
  function_name TEXT NOT NULL,
  key           TEXT NOT NULL,
  value         TEXT NOT NULL,
  expires_at    INTEGER,
  updated_at    INTEGER NOT NULL,
  PRIMARY KEY (function_name, key)
) WITHOUT ROWID;
CREATE INDEX kv_expiry ON kv (expires_at) WHERE expires_at IS NOT NULL;
