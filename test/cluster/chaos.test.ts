// Chaos, bounded: N async invocations through a front end while the invoker
// running the function is killed with SIGKILL mid-run (and started again
// later), the private NATS server is killed and restarted, and the broker
// stalls for the front end (its connection goes through a TCP proxy the test
// freezes) and the front end is killed with SIGKILL meanwhile: calls it had
// stored but not yet queued are answered by a new front end, on a retry with
// their Idempotency-Key, as duplicates. At the end every accepted activation
// id must have a success or dead_letter record (none lost). Executions are
// counted by a listener on the host's loopback that the function calls on
// every run (the invokers allow 127.0.0.1 with --egress-allow; the sandbox
// reaches it as 10.0.2.2), and duplicates (at-least-once) are reported.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { createTestDatabase } from '../storage/pg-database.ts';
import { startCluster, type FrontEnd } from './cluster.ts';
import { deploy, invoke } from './http.ts';
import { PrivateNats } from './nats-server.ts';
import { TcpProxy } from './tcp-proxy.ts';

const N = Number(process.env.NIMBUS_CHAOS_N ?? 1000);
const PARALLEL = 16;
/** How long a client keeps sending one call again (same key) while it is refused or unanswered, ms. */
const RETRY_FOR_MS = 90_000;
/** How long the broker stalls for the front end before the front end is killed, ms (a publish waits up to 5 s). */
const STALL_MS = 1500;
/** After this long no new call is sent (the test then fails on the calls never accepted), ms. */
const SEND_MS = 180_000;
/** How the NATS server goes down: SIGKILL (a crash) by default, SIGTERM for a clean stop. */
const NATS_STOP = (process.env.NIMBUS_CHAOS_NATS_SIGNAL ?? 'SIGKILL') as NodeJS.Signals;
const SETTLE_MS = 150_000;

/** Tells the host's counter it runs (a failed report fails the run, so it is retried), then answers. */
const FUNCTION = `exports.handler = async (event) => {
  const r = await fetch('http://10.0.2.2:' + process.env.COUNTER_PORT + '/run', { method: 'POST', body: String(event.i) });
  if (!r.ok) throw new Error('the counter answered ' + r.status);
  await new Promise((r) => setTimeout(r, 5));
  return { i: event.i };
};`;

/** Counts the runs the function reports, by event index. */
async function startCounter(): Promise<{ runs: Map<number, number>; port: number; close: () => Promise<void> }> {
  const runs = new Map<number, number>();
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (b: Buffer) => (body += b.toString()));
    req.on('end', () => {
      const i = Number(body);
      if (req.method === 'POST' && req.url === '/run' && Number.isInteger(i)) runs.set(i, (runs.get(i) ?? 0) + 1);
      res.end('counted');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const close = () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r())));
  return { runs, port: (server.address() as AddressInfo).port, close };
}

// The test process must end once its tests have. In one run of the whole suite it stayed busy for eight
// minutes after they had passed, then exited non-zero without a word. Should anything still hold it 20 s
// after the last hook, it says what and ends with the runner's verdict, so the suite stays bounded.
after(() => {
  setTimeout(() => {
    const active = JSON.stringify(process.getActiveResourcesInfo());
    process.stderr.write(`chaos test: still running 20 s after its tests ended; active resources: ${active}\n`);
    process.exit(process.exitCode ?? 0);
  }, 20_000).unref();
});

describe(`chaos: ${N} async invocations, an invoker killed, NATS restarted, the front end killed while the broker stalls`, async () => {
  const nats = await PrivateNats.start();
  after(() => nats.dispose());
  const counter = await startCounter();
  after(() => counter.close());
  const proxy = await TcpProxy.start({ host: '127.0.0.1', port: nats.port });
  after(() => proxy.close());
  const store = await createTestDatabase();
  const options = { namespace: 'chaos', ack_wait: 4000, presence_ttl: 2000, heartbeat: 500 };
  const c = startCluster(nats.url(options), store);
  // The front ends reach NATS through the proxy, the invokers directly.
  const frontEnds = startCluster(nats.url(options).replace(`:${nats.port}`, `:${proxy.port}`), store);
  let front: FrontEnd;
  let fe: string;
  let home = '';

  before(async () => {
    const egress = ['--egress-allow', '127.0.0.1/32'];
    await Promise.all([c.startInvoker('inv-a', egress), c.startInvoker('inv-b', egress)]);
    front = await frontEnds.startFrontEnd();
    fe = front.url;
    const d = await deploy(fe, 'work', FUNCTION, {
      env: { COUNTER_PORT: String(counter.port) },
      network: true,
      timeoutMs: 5000,
      maxSandboxes: 4,
    });
    assert.equal(d.status, 201, d.text);
    const warm = await invoke(fe, 'work', { i: -1 });
    assert.equal(warm.status, 200, warm.text);
    const db = new pg.Client({ connectionString: store });
    await db.connect();
    home =
      (
        await db.query<{ invoker: string }>("SELECT body::json->>'invoker' AS invoker FROM activations WHERE id = $1", [
          warm.headers.get('x-nimbus-activation-id'),
        ])
      ).rows[0]?.invoker ?? '';
    await db.end();
    assert.ok(c.invokers.has(home), `the function's home invoker is known: "${home}"`);
    assert.equal(counter.runs.get(-1), 1, 'the warm-up run reached the counter');
  });

  it('loses no accepted invocation', async (t) => {
    const accepted = new Map<string, number>();
    const refusals: string[] = [];
    const events: string[] = [];
    /** Calls left unanswered by the front end killed during the stall, and of those, how many a new front end called duplicates. */
    const cutOff = new Set<number>();
    let stalling = false;
    let answeredAsDuplicate = 0;
    let next = 0;
    const stallThenKill = async () => {
      stalling = true;
      proxy.freeze(); // calls keep coming: each is stored, then its publish hangs
      await new Promise((r) => setTimeout(r, STALL_MS));
      await front.proc.kill('SIGKILL');
      stalling = false;
      await proxy.cut();
      await proxy.restore();
      // A new port: the old one may be taken by then on a busy machine. Clients send to the new front end from now on.
      front = await frontEnds.startFrontEnd();
      fe = front.url;
    };
    const faults: [number, string, () => Promise<void>][] = [
      [0.25, 'kill', async () => c.invokers.get(home)?.kill('SIGKILL')], // the invoker running the function
      [0.5, 'nats', () => nats.restart(NATS_STOP)],
      [0.6, 'stall+front-end kill', stallThenKill],
      [0.75, 'rejoin', async () => void (await c.startInvoker(home, ['--egress-allow', '127.0.0.1/32']))],
    ];
    let broken: Error | undefined;
    const chaos = async () => {
      const fault = faults[events.length];
      if (fault && accepted.size >= N * fault[0]) {
        events.push(fault[1]);
        await fault[2]().catch((e: Error) => (broken ??= e));
      }
    };
    const started = Date.now();
    const sending = () => !broken && Date.now() - started < SEND_MS;
    // Like a careful client: a refused call (503, no answer) is sent again with the same Idempotency-Key.
    const client = async () => {
      while (next < N && sending()) {
        const i = next++;
        for (const until = Date.now() + RETRY_FOR_MS; Date.now() < until && sending();) {
          try {
            const r = await invoke(fe, 'work', { i }, '?async=1', { 'idempotency-key': `chaos-${i}` });
            if (r.status === 202) {
              accepted.set(r.json.activationId, i);
              if (r.json.duplicate && cutOff.has(i)) answeredAsDuplicate++;
              break;
            }
            refusals.push(`${r.status} ${r.json?.error?.code ?? r.text.slice(0, 80)}`);
          } catch (e) {
            if (stalling || !front.proc.alive) cutOff.add(i);
            refusals.push(`no answer: ${(e as Error).message}`);
          }
          await new Promise((r) => setTimeout(r, 250));
        }
        await chaos();
      }
    };
    await Promise.all(Array.from({ length: PARALLEL }, client));
    const sendMs = Date.now() - started;
    if (broken) assert.fail(`a fault could not be made (${events.at(-1)}): ${broken.message}`);
    assert.deepEqual(
      events,
      faults.map((f) => f[1]),
      'every fault happened while invocations were coming in',
    );

    const ids = [...accepted.keys()];
    let byStatus = new Map<string, number>();
    let succeededIds: string[] = [];
    const end = Date.now() + SETTLE_MS;
    const db = new pg.Client({ connectionString: store });
    await db.connect();
    try {
      for (;;) {
        const rows = (
          await db.query<{ status: string; n: string }>(
            'SELECT status, count(*) AS n FROM activations WHERE id = ANY($1) GROUP BY status',
            [ids],
          )
        ).rows;
        byStatus = new Map(rows.map((r) => [r.status, Number(r.n)]));
        const final = (byStatus.get('success') ?? 0) + (byStatus.get('dead_letter') ?? 0);
        if (final === ids.length || Date.now() > end) break;
        await new Promise((r) => setTimeout(r, 500));
      }
      succeededIds = (
        await db.query<{ id: string }>("SELECT id FROM activations WHERE id = ANY($1) AND status = 'success'", [ids])
      ).rows.map((r) => r.id);
    } finally {
      await db.end();
    }
    const totalMs = Date.now() - started;

    const runs = counter.runs;
    const acceptedIndexes = new Set(accepted.values());
    const duplicates = [...acceptedIndexes].reduce((sum, i) => sum + Math.max(0, (runs.get(i) ?? 0) - 1), 0);
    const neverAccepted = Array.from({ length: N }, (_, i) => i).filter((i) => !acceptedIndexes.has(i));
    const succeeded = byStatus.get('success') ?? 0;
    const deadLettered = byStatus.get('dead_letter') ?? 0;
    const lost = ids.length - succeeded - deadLettered;
    const summary = {
      sent: N,
      accepted: ids.length,
      refusedAnswers: refusals.length,
      neverAccepted: neverAccepted.length,
      succeeded,
      deadLettered,
      lost,
      duplicates,
      cutOffByFrontEndKill: cutOff.size,
      answeredAsDuplicate,
      otherStatuses: Object.fromEntries([...byStatus].filter(([s]) => s !== 'success' && s !== 'dead_letter')),
      killed: home,
      natsStop: NATS_STOP,
      natsSyncAlways: nats.syncAlways,
      sendSeconds: sendMs / 1000,
      totalSeconds: totalMs / 1000,
      refusedSample: [...new Set(refusals)].slice(0, 3),
    };
    t.diagnostic(`chaos result ${JSON.stringify(summary)}`);
    process.stdout.write(`# chaos result ${JSON.stringify(summary)}\n`);
    assert.equal(
      ids.length,
      N,
      `every invocation is accepted in the end, refused ones on a retry with their key: ${JSON.stringify(summary)}`,
    );
    assert.ok(
      answeredAsDuplicate > 0,
      `the front-end kill caught calls it had stored but not answered: ${JSON.stringify(summary)}`,
    );
    assert.equal(
      lost,
      0,
      `every accepted id has a success or dead_letter record: ${JSON.stringify(summary)}\n${c.logs()}`,
    );
    for (const id of succeededIds)
      if (!runs.has(accepted.get(id)!))
        assert.fail(`activation ${id} (event ${accepted.get(id)}) has a success record but never ran`);
    const last = await invoke(fe, 'work', { i: -2 });
    assert.equal(last.status, 200, `sync calls work after the chaos: ${last.text}`);
  });
});
