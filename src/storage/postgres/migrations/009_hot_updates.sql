-- An async run changes its queue entry (attempts, state) and its activation
-- record (status, body) once each. With no index on a column a run changes,
-- and room left in each page, PostgreSQL updates such a row in place (a HOT
-- update) instead of adding an entry to every index of the table for every
-- run. Nothing reads queue entries by state in cluster mode: a run reads its
-- entry by id and retention checks it by id; only a store paired with a bus
-- that is not durable lists the pending entries, once, at start.
DROP INDEX IF EXISTS async_queue_pending;
ALTER TABLE async_queue SET (fillfactor = 70);
ALTER TABLE activations SET (fillfactor = 80);
