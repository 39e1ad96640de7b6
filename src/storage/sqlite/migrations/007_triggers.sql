-- Triggers (issue 17): a cron schedule or a topic subscription that starts a
-- function's async activations, one row per trigger, keyed by its namespace
-- and name. function_name is the target's qualified base name (what a
-- function delete checks); spec is the trigger as given (JSON), target and all.
CREATE TABLE triggers (
  namespace     TEXT NOT NULL,
  name          TEXT NOT NULL,
  type          TEXT NOT NULL,
  topic         TEXT,
  function_name TEXT NOT NULL,
  spec          TEXT NOT NULL,
  created_at    TEXT NOT NULL,
  updated_at    TEXT NOT NULL,
  PRIMARY KEY (namespace, name)
);
CREATE INDEX triggers_function ON triggers (function_name);
CREATE INDEX triggers_type ON triggers (type);

-- Where each cron trigger's schedule stands: the scheduled time (ms since the
-- epoch) of the last tick fired, or when the trigger was set. The ticker fires
-- the ticks after it and then moves it on; a tick's activation carries an
-- idempotency key made of the trigger and the tick's time, so a tick fired
-- again after a crash between the two (or by a second leader) is stored once.
CREATE TABLE cron_state (
  namespace TEXT NOT NULL,
  name      TEXT NOT NULL,
  last_tick INTEGER NOT NULL,
  PRIMARY KEY (namespace, name)
);
