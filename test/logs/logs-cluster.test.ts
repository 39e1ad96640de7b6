// Live logs in cluster mode: a front end and an invoker as separate processes
// joined by NATS (the shared server, a namespace of this run) and PostgreSQL.
// A follower on the front end gets the lines the invoker's sandbox writes
// while the call runs; a second front end, followed too, gets them as well
// (every front end listens on the function's subject while followed).
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { createTestDatabase } from '../storage/pg-database.ts';
import { startCluster, type Cluster } from '../cluster/cluster.ts';
import { call, deploy, invoke } from '../cluster/http.ts';
import { sharedBusUrl } from '../cluster/shared-nats.ts';
import { follow } from './follow.ts';

const TICKER = `exports.handler = async () => {
  for (let i = 0; i < 3; i++) {
    console.log('tick ' + i);
    await new Promise((r) => setTimeout(r, 1000));
  }
  return 'done';
};`;

describe('live logs across processes', async () => {
  const bus = sharedBusUrl({ presence_ttl: 3000, heartbeat: 500 });
  const store = await createTestDatabase();
  const c: Cluster = startCluster(bus, store);
  let fe1: string;
  let fe2: string;

  before(async () => {
    await c.startInvoker('inv-logs');
    [fe1, fe2] = (await Promise.all([c.startFrontEnd(), c.startFrontEnd()])).map((f) => f.url) as [string, string];
  });

  it('a follower on a front end gets the lines an invoker process streams, before the call ends', async () => {
    assert.equal((await deploy(fe1, 'ticker', TICKER)).status, 201);
    const f1 = await follow(fe1, 'ticker');
    const f2 = await follow(fe2, 'ticker');
    try {
      assert.equal(f1.status, 200);
      assert.equal(f2.status, 200);
      const r = await invoke(fe2, 'ticker');
      assert.equal(r.status, 200, `${r.text}\n${c.logs()}`);
      const id = r.headers.get('x-nimbus-activation-id');
      await f1.waitFor('three lines on front end 1', (e) => e.length === 3);
      await f2.waitFor('three lines on front end 2', (e) => e.length === 3);
      for (const f of [f1, f2])
        assert.deepEqual(
          f.events.map((e) => [e.activationId, e.line]),
          [0, 1, 2].map((i) => [id, `tick ${i}`]),
        );
      const record = (await call(fe1, 'GET', `/v1/activations/${id}`)).json;
      assert.equal(record.invoker, 'inv-logs');
      assert.equal(record.logs, 'tick 0\ntick 1\ntick 2\n');
      const first = f1.events[0];
      assert.ok(first && first.receivedAt < Date.parse(record.endedAt) - 1000, 'the first line came while it ran');
    } finally {
      f1.close();
      f2.close();
    }
  });
});
