-- The async outbox: one row per accepted invocation whose queue message the
-- bus has not confirmed. A front end writes it with the queue entry (same
-- statement) and deletes it once JetStream acknowledged the message; a
-- front end that dies between the two leaves it, and an invoker's relay
-- publishes it (under message_id, which JetStream deduplicates).
CREATE TABLE async_outbox (
  activation_id TEXT PRIMARY KEY,
  message_id    TEXT NOT NULL,
  publish_after BIGINT NOT NULL
);
CREATE INDEX async_outbox_due ON async_outbox (publish_after);

-- Entries accepted before this version that never started may have lost their
-- message the same way: publish them again (a copy of one whose message does
-- exist runs at most once more: delivery was always at least once).
INSERT INTO async_outbox (activation_id, message_id, publish_after)
  SELECT activation_id, activation_id, 0 FROM async_queue WHERE state = 'pending' AND attempts = 0;
