// The floor for async calls in a cluster of nimbus's shape: what accepting a
// call durably and running it later costs on this machine with none of the
// platform's own work (no validation, idempotency, retries, quotas, reads).
// Roles, by argv[2]: the front (fastify, as nimbus's front end sets it up;
// prints `listening PORT`) stores each call's record and queue entry in
// PostgreSQL (the calls of one event-loop turn in one transaction), publishes
// it to a JetStream work-queue stream, and answers 202 once the stream acked;
// `invoker` (start two) takes 32 messages at a time from the stream's pull
// consumer, relays each call to one of two children of relay-floor.mjs, then
// records the outcome and marks the entry done (the calls ending within 10 ms
// in one transaction) and acks the message. Env: NATS_URL, PG_URL.
import { randomUUID } from 'node:crypto';
import { AckPolicy, jetstream, jetstreamManager, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import pg from 'pg';
import { listenFastify } from './fastify-front.mjs';
import { childRelay } from './framer.mjs';

const nc = await connect({ servers: process.env.NATS_URL, noAsyncTraces: true });
const js = jetstream(nc);
const db = new pg.Pool({ connectionString: process.env.PG_URL, max: 4 });

/** Runs `write(rows)` once for the rows handed in within `ms` (0: this event-loop turn), in one transaction. */
function gathered(ms, write) {
  let rows = [];
  let done;
  return (row) => {
    rows.push(row);
    if (rows.length > 1) return done;
    done = new Promise((resolve, reject) => {
      const flush = async () => {
        const batch = rows;
        rows = [];
        const c = await db.connect();
        try {
          await c.query('BEGIN');
          await write(c, batch);
          await c.query('COMMIT');
          resolve();
        } catch (e) {
          await c.query('ROLLBACK').catch(() => undefined);
          reject(e);
        } finally {
          c.release();
        }
      };
      if (ms) setTimeout(flush, ms);
      else setImmediate(flush);
    });
    return done;
  };
}

if (process.argv[2] === 'invoker') {
  const relay = childRelay(2);
  const end = gathered(10, (c, rows) =>
    c.query(
      `WITH ended AS (UPDATE floor_async SET status = 'success', body = r.body
         FROM unnest($1::text[], $2::text[]) AS r(id, body) WHERE floor_async.id = r.id RETURNING floor_async.id)
       UPDATE floor_queue SET state = 'done', attempts = 1 FROM ended WHERE floor_queue.id = ended.id`,
      [rows.map((r) => r.id), rows.map((r) => r.body)],
    ),
  );
  const messages = await (await js.consumers.get('FLOORQ', 'floor')).consume({ max_messages: 32 });
  process.stdout.write('invoker ready\n');
  for await (const m of messages) {
    const call = JSON.parse(m.string());
    void relay(call.event)
      .then((value) => end({ id: call.id, body: JSON.stringify({ status: 'success', result: value }) }))
      .then(() => m.ack());
  }
} else {
  const jsm = await jetstreamManager(nc);
  await jsm.streams.delete('FLOORQ').catch(() => undefined);
  await jsm.streams.add({
    name: 'FLOORQ',
    subjects: ['floorq'],
    retention: RetentionPolicy.Workqueue,
    storage: StorageType.File,
  });
  await jsm.consumers.add('FLOORQ', { durable_name: 'floor', ack_policy: AckPolicy.Explicit, max_ack_pending: 20_000 });
  await db.query(`DROP TABLE IF EXISTS floor_async, floor_queue;
    CREATE TABLE floor_async (id TEXT PRIMARY KEY, function_name TEXT NOT NULL, created_at TEXT NOT NULL,
      status TEXT NOT NULL, body TEXT NOT NULL);
    CREATE INDEX ON floor_async (function_name, created_at); CREATE INDEX ON floor_async (status);
    CREATE TABLE floor_queue (id TEXT PRIMARY KEY, input TEXT NOT NULL, attempts INTEGER NOT NULL, state TEXT NOT NULL);
    CREATE INDEX ON floor_queue (state);`);
  const accept = gathered(0, async (c, rows) => {
    const ids = rows.map((r) => r.id);
    await c.query(
      `INSERT INTO floor_async SELECT id, 'hello', now()::text, 'queued', '{}' FROM unnest($1::text[]) AS id`,
      [ids],
    );
    await c.query(`INSERT INTO floor_queue SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::text[])`, [
      ids,
      rows.map((r) => r.input),
      rows.map(() => 0),
      rows.map(() => 'pending'),
    ]);
  });
  await listenFastify(async (event) => {
    const id = randomUUID();
    await accept({ id, input: JSON.stringify(event) });
    await js.publish('floorq', JSON.stringify({ id, event }), { msgID: id });
    return { activationId: id };
  }, 202);
}
