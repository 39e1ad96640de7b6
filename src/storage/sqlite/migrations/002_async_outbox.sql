-- The async outbox: one row per accepted invocation whose queue message the
-- bus has not confirmed, written with the queue entry and deleted once the
-- bus holds the message. The embedded bus keeps nothing across a restart, so
-- every pending entry is queued again at start anyway; the rows matter for
-- the same relay code that cluster mode relies on.
CREATE TABLE async_outbox (
  activation_id TEXT PRIMARY KEY,
  message_id    TEXT NOT NULL,
  publish_after INTEGER NOT NULL
);
CREATE INDEX async_outbox_due ON async_outbox (publish_after);
