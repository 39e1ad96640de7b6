-- Function state (issue 17): a key-value store per function, keyed by the
-- function's qualified name (namespace/name), so namespaces never share one.
-- value is JSON text; expires_at and updated_at are epoch milliseconds
-- (expires_at NULL: never). An expired row is invisible at once and deleted
-- lazily (src/state/kv-store.ts). Keys collate as bytes ("C"), as SQLite's
-- BINARY does, so list pages and cursors come out the same in both stores.
CREATE TABLE kv (
  function_name TEXT NOT NULL,
  key           TEXT COLLATE "C" NOT NULL,
  value         TEXT NOT NULL,
  expires_at    BIGINT,
  updated_at    BIGINT NOT NULL,
  PRIMARY KEY (function_name, key)
);
CREATE INDEX kv_expiry ON kv (expires_at) WHERE expires_at IS NOT NULL;
