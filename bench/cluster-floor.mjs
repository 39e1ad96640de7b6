// The floor for a cluster of nimbus's shape: what any platform built as one
// front end, a NATS request/reply to one of two invoker processes, each
// relaying to function processes, and activation records in PostgreSQL costs
// on this machine, with none of the platform's own work (no validation,
// routing, balancing or quotas). Roles, by argv[2]: the front (fastify, as
// nimbus's front end sets it up; prints `listening PORT`), `invoker` (a NATS
// responder relaying to two children of relay-floor.mjs and, with PG_URL,
// writing one record per call in batches gathered for 10 ms, as nimbus does),
// and the children themselves. Env: NATS_URL, PG_URL, FLOOR_INVOKERS (2).
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { connect } from '@nats-io/transport-node';
import pg from 'pg';
import { listenFastify } from './fastify-front.mjs';
import { childRelay } from './framer.mjs';

const here = fileURLToPath(import.meta.url);
const INVOKERS = Number(process.env.FLOOR_INVOKERS ?? 2);
const nc = await connect({ servers: process.env.NATS_URL, noAsyncTraces: true });
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** One record per call, gathered for 10 ms into one unnest upsert, as nimbus's activation batches. */
function recorder(url) {
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  let pending = [];
  return async function record(row) {
    if (pending.push(row) > 1) return;
    await new Promise((r) => setTimeout(r, 10));
    const rows = pending;
    pending = [];
    const columns = [0, 1, 2, 3, 4, 5].map((i) => rows.map((r) => r[i]));
    await pool.query(
      `INSERT INTO floor_records SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::text[], $6::text[])
       ON CONFLICT (id) DO UPDATE SET status = excluded.status, body = excluded.body`,
      columns,
    );
  };
}

if (process.argv[2] === 'invoker') {
  // Ends with the front: its stdin is the front's pipe.
  process.stdin.on('end', () => process.exit(0)).resume();
  const record = process.env.PG_URL ? recorder(process.env.PG_URL) : undefined;
  const relay = childRelay(2);
  nc.subscribe(`floor.${process.argv[3]}`, {
    callback: (_err, msg) => {
      void relay(JSON.parse(decoder.decode(msg.data))).then((value) => {
        const body = { id: randomUUID(), status: 'success', result: value, createdAt: new Date().toISOString() };
        msg.respond(encoder.encode(JSON.stringify({ ok: true, data: value })));
        const row = [body.id, 'hello', 1, body.createdAt, body.status, JSON.stringify(body)];
        record?.(row).catch((e) => console.error(String(e)));
      });
    },
  });
  await nc.flush();
  process.stdout.write('invoker ready\n');
} else {
  if (process.env.PG_URL) {
    const c = new pg.Client({ connectionString: process.env.PG_URL });
    await c.connect();
    await c.query(`DROP TABLE IF EXISTS floor_records;
      CREATE TABLE floor_records (id TEXT PRIMARY KEY, function_name TEXT NOT NULL, function_version INTEGER NOT NULL,
        created_at TEXT NOT NULL, status TEXT NOT NULL, body TEXT NOT NULL);
      CREATE INDEX ON floor_records (function_name, created_at); CREATE INDEX ON floor_records (created_at);`);
    await c.end();
  }
  for (let i = 0; i < INVOKERS; i++) {
    const child = spawn(process.execPath, [here, 'invoker', String(i)], { stdio: ['pipe', 'pipe', 'inherit'] });
    await new Promise((resolve) => child.stdout.once('data', resolve));
  }
  let turn = 0;
  await listenFastify(async (event) => {
    const reply = await nc.request(`floor.${turn++ % INVOKERS}`, encoder.encode(JSON.stringify(event)), {
      timeout: 10_000,
    });
    return JSON.parse(decoder.decode(reply.data)).data;
  });
}
