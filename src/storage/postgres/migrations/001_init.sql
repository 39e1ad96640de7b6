-- nimbus cluster schema, version 1 (PostgreSQL). Times are ISO-8601 UTC text,
-- as in the SQLite schema, so both stores order and page the same way.
CREATE TABLE artifacts (
  sha256     TEXT PRIMARY KEY,
  bytes      BYTEA NOT NULL,
  size       INTEGER NOT NULL,
  created_at TEXT NOT NULL
);

CREATE TABLE functions (
  name              TEXT PRIMARY KEY,
  latest_version    INTEGER NOT NULL,
  first_deployed_at TEXT NOT NULL
);

CREATE TABLE versions (
  name            TEXT NOT NULL,
  version         INTEGER NOT NULL,
  config          TEXT NOT NULL,
  artifact_sha256 TEXT NOT NULL REFERENCES artifacts(sha256),
  created_at      TEXT NOT NULL,
  PRIMARY KEY (name, version)
);

-- Survives deletes, so a redeployed function never reuses a version number.
CREATE TABLE version_counters (
  name         TEXT PRIMARY KEY,
  last_version INTEGER NOT NULL
);

CREATE TABLE activations (
  id               TEXT PRIMARY KEY,
  function_name    TEXT NOT NULL,
  function_version INTEGER NOT NULL,
  created_at       TEXT NOT NULL,
  status           TEXT NOT NULL,
  body             TEXT NOT NULL
);
CREATE INDEX activations_by_function ON activations (function_name, created_at);
CREATE INDEX activations_by_time ON activations (created_at);

CREATE TABLE async_queue (
  activation_id   TEXT PRIMARY KEY,
  function_name   TEXT NOT NULL,
  input           TEXT NOT NULL,
  attempts        INTEGER NOT NULL,
  max_attempts    INTEGER NOT NULL,
  run_at          BIGINT NOT NULL,
  idempotency_key TEXT,
  state           TEXT NOT NULL
);
CREATE UNIQUE INDEX async_queue_idempotency ON async_queue (function_name, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX async_queue_pending ON async_queue (state, run_at);
