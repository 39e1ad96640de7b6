// A front end killed between storing an async invocation and queueing it: it
// reaches NATS through a TCP proxy the test freezes (a stalled broker), so
// the invocation is committed to PostgreSQL and its JetStream publish hangs;
// then the front end gets SIGKILL. The client saw no answer and sends the
// call again, with its Idempotency-Key, to a new front end: 202, the same
// activation id, a duplicate. The activation must still run (an invoker's
// outbox relay queues it), not stay queued forever.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { createTestDatabase } from '../storage/pg-database.ts';
import { startCluster } from '../cluster/cluster.ts';
import { deploy, invoke, settled } from '../cluster/http.ts';
import { SHARED_NATS, sharedBusUrl } from '../cluster/shared-nats.ts';
import { TcpProxy } from '../cluster/tcp-proxy.ts';

describe('async: the front end dies between the commit and the publish', async () => {
  const store = await createTestDatabase();
  const nats = new URL(SHARED_NATS);
  const proxy = await TcpProxy.start({ host: nats.hostname, port: Number(nats.port || 4222) });
  after(() => proxy.close());
  const bus = sharedBusUrl({ presence_ttl: 3000, heartbeat: 500 });
  const viaProxy = new URL(bus);
  viaProxy.host = `127.0.0.1:${proxy.port}`;
  const invokers = startCluster(bus, store);
  const frontEnds = startCluster(viaProxy.toString(), store);
  let fe = '';

  before(async () => {
    await invokers.startInvoker('inv-1');
    fe = (await frontEnds.startFrontEnd()).url;
    const d = await deploy(fe, 'echo', 'exports.handler = async (e) => e');
    assert.equal(d.status, 201, d.text);
    assert.equal((await invoke(fe, 'echo', { warm: 1 })).status, 200);
  });

  it('runs the stored invocation anyway, and a retry with its key gets the same id', { timeout: 120_000 }, async () => {
    const first = frontEnds.frontEnds[0]!;
    proxy.freeze();
    const lost = invoke(fe, 'echo', { stalled: true }, '?async=1', { 'idempotency-key': 'stalled-1' }).then(
      (r) => `answered ${r.status} ${r.text}`,
      (e: Error) => `no answer: ${e.message}`,
    );
    const db = new pg.Client({ connectionString: store });
    await db.connect();
    let stored: string | undefined;
    try {
      const until = Date.now() + 10_000;
      while (!stored && Date.now() < until) {
        stored = (
          await db.query<{ id: string }>(
            "SELECT activation_id AS id FROM async_queue WHERE idempotency_key = 'stalled-1'",
          )
        ).rows[0]?.id;
        if (!stored) await new Promise((r) => setTimeout(r, 20));
      }
    } finally {
      await db.end();
    }
    assert.ok(stored, 'the front end committed the invocation while the broker was stalled');
    await first.proc.kill('SIGKILL');
    assert.match(await lost, /^no answer/, 'the client got no answer: the front end died while publishing');
    await proxy.cut();
    await proxy.restore();

    fe = (await frontEnds.startFrontEnd()).url;
    const again = await invoke(fe, 'echo', { stalled: true }, '?async=1', { 'idempotency-key': 'stalled-1' });
    assert.equal(again.status, 202, again.text);
    assert.deepEqual(again.json, { activationId: stored, duplicate: true });
    const record = await settled(fe, stored, 60_000).catch((e: Error) =>
      assert.fail(`${e.message}\n${invokers.logs()}`),
    );
    assert.equal(record.status, 'success');
    assert.deepEqual(record.result, { stalled: true });
  });
});
