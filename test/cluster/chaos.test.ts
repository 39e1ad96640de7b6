// Chaos, bounded: N async invocations through a front end while the invoker
// running the function is killed with SIGKILL mid-run (and started again
// later) and the private NATS server is killed and restarted. At the end every accepted activation id must have a
// success or dead_letter record (none lost); executions are counted from a
// log the function appends to, and duplicates (at-least-once) are reported.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { createTempDir } from './temp.ts';
import { createTestDatabase } from '../storage/pg-database.ts';
import { startCluster } from './cluster.ts';
import { deploy, invoke } from './http.ts';
import { PrivateNats } from './nats-server.ts';

const N = Number(process.env.NIMBUS_CHAOS_N ?? 1000);
const PARALLEL = 16;
const RETRIES = 40;
/** How the NATS server goes down: SIGKILL (a crash) by default, SIGTERM for a clean stop. */
const NATS_STOP = (process.env.NIMBUS_CHAOS_NATS_SIGNAL ?? 'SIGKILL') as NodeJS.Signals;
const SETTLE_MS = 150_000;

const FUNCTION = `const fs = require('node:fs');
exports.handler = async (event) => {
  fs.appendFileSync(process.env.EXEC_LOG, event.i + '\\n');
  await new Promise((r) => setTimeout(r, 5));
  return { i: event.i };
};`;

describe(`chaos: ${N} async invocations, an invoker killed, NATS restarted`, async () => {
  const nats = await PrivateNats.start();
  after(() => nats.dispose());
  const store = await createTestDatabase();
  const bus = nats.url({ namespace: 'chaos', ack_wait: 4000, presence_ttl: 2000, heartbeat: 500 });
  const c = startCluster(bus, store);
  const dir = await createTempDir('nimbus-chaos');
  const execLog = path.join(dir, 'executions.log');
  let fe: string;
  let home = '';

  before(async () => {
    await Promise.all([c.startInvoker('inv-a'), c.startInvoker('inv-b')]);
    fe = (await c.startFrontEnd()).url;
    const d = await deploy(fe, 'work', FUNCTION, { env: { EXEC_LOG: execLog }, timeoutMs: 5000, maxSandboxes: 4 });
    assert.equal(d.status, 201, d.text);
    const warm = await invoke(fe, 'work', { i: -1 });
    assert.equal(warm.status, 200, warm.text);
    const db = new pg.Client({ connectionString: store });
    await db.connect();
    home = (await db.query<{ invoker: string }>('SELECT body::json->>\'invoker\' AS invoker FROM activations WHERE id = $1', [warm.headers.get('x-nimbus-activation-id')])).rows[0]?.invoker ?? '';
    await db.end();
    assert.ok(c.invokers.has(home), `the function's home invoker is known: "${home}"`);
  });

  it('loses no accepted invocation', async (t) => {
    const accepted = new Map<string, number>();
    const refusals: string[] = [];
    const events: string[] = [];
    let next = 0;
    const chaos = async () => {
      if (accepted.size >= N * 0.25 && !events.includes('kill')) {
        events.push('kill');
        await c.invokers.get(home)?.kill('SIGKILL'); // the invoker running the function
      } else if (accepted.size >= N * 0.5 && !events.includes('nats')) {
        events.push('nats');
        await nats.restart(NATS_STOP);
      } else if (accepted.size >= N * 0.75 && !events.includes('rejoin')) {
        events.push('rejoin');
        await c.startInvoker(home);
      }
    };
    const started = Date.now();
    // Like a careful client: a refused call (503, no answer) is sent again with the same Idempotency-Key.
    const client = async () => {
      while (next < N) {
        const i = next++;
        for (let attempt = 1; attempt <= RETRIES; attempt++) {
          try {
            const r = await invoke(fe, 'work', { i }, '?async=1', { 'idempotency-key': `chaos-${i}` });
            if (r.status === 202) {
              accepted.set(r.json.activationId, i);
              break;
            }
            refusals.push(`${r.status} ${r.json?.error?.code ?? r.text.slice(0, 80)}`);
          } catch (e) {
            refusals.push(`no answer: ${(e as Error).message}`);
          }
          await new Promise((r) => setTimeout(r, 250));
        }
        await chaos();
      }
    };
    await Promise.all(Array.from({ length: PARALLEL }, client));
    const sendMs = Date.now() - started;
    assert.deepEqual(events, ['kill', 'nats', 'rejoin'], 'every fault happened while invocations were coming in');

    const ids = [...accepted.keys()];
    let byStatus = new Map<string, number>();
    const end = Date.now() + SETTLE_MS;
    const db = new pg.Client({ connectionString: store });
    await db.connect();
    try {
      for (;;) {
        const rows = (await db.query<{ status: string; n: string }>('SELECT status, count(*) AS n FROM activations WHERE id = ANY($1) GROUP BY status', [ids])).rows;
        byStatus = new Map(rows.map((r) => [r.status, Number(r.n)]));
        const final = (byStatus.get('success') ?? 0) + (byStatus.get('dead_letter') ?? 0);
        if (final === ids.length || Date.now() > end) break;
        await new Promise((r) => setTimeout(r, 500));
      }
    } finally {
      await db.end();
    }
    const totalMs = Date.now() - started;

    const runs = new Map<number, number>();
    for (const line of (await readFile(execLog, 'utf8').catch(() => '')).split('\n')) if (line) runs.set(Number(line), (runs.get(Number(line)) ?? 0) + 1);
    const acceptedIndexes = new Set(accepted.values());
    const duplicates = [...acceptedIndexes].reduce((sum, i) => sum + Math.max(0, (runs.get(i) ?? 0) - 1), 0);
    const neverAccepted = Array.from({ length: N }, (_, i) => i).filter((i) => !acceptedIndexes.has(i));
    const succeeded = byStatus.get('success') ?? 0;
    const deadLettered = byStatus.get('dead_letter') ?? 0;
    const lost = ids.length - succeeded - deadLettered;
    const summary = {
      sent: N, accepted: ids.length, refusedAnswers: refusals.length, neverAccepted: neverAccepted.length, succeeded, deadLettered, lost, duplicates,
      otherStatuses: Object.fromEntries([...byStatus].filter(([s]) => s !== 'success' && s !== 'dead_letter')),
      killed: home, natsStop: NATS_STOP, natsSyncAlways: nats.syncAlways, sendSeconds: sendMs / 1000, totalSeconds: totalMs / 1000,
      refusedSample: [...new Set(refusals)].slice(0, 3),
    };
    t.diagnostic(`chaos result ${JSON.stringify(summary)}`);
    process.stdout.write(`# chaos result ${JSON.stringify(summary)}\n`);
    assert.equal(ids.length, N, `every invocation is accepted in the end, refused ones on a retry with their key: ${JSON.stringify(summary)}`);
    assert.equal(lost, 0, `every accepted id has a success or dead_letter record: ${JSON.stringify(summary)}\n${c.logs()}`);
    for (const [id, i] of accepted) if (!runs.has(i)) assert.fail(`activation ${id} (event ${i}) has a record but never ran`);
    const last = await invoke(fe, 'work', { i: -2 });
    assert.equal(last.status, 200, `sync calls work after the chaos: ${last.text}`);
  });
});
