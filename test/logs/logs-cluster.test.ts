// Live logs in cluster mode: a front end and an invoker as separate processes
// joined by NATS (the shared server, a namespace of this run) and PostgreSQL.
// A follower on the front end gets the lines the invoker's sandbox writes
// while the call runs; a second front end, followed too, gets them as well
// (every front end listens on the function's subject while followed).
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { testCluster, type Cluster } from '../cluster/cluster.ts';
import { call, deploy, invoke } from '../cluster/http.ts';
import { follow, TICKER } from './follow.ts';

describe('live logs across processes', async () => {
  const c: Cluster = await testCluster();
  let fe1: string;
  let fe2: string;

  before(async () => {
    [fe1, fe2] = (await c.startNodes({ 'inv-logs': [] })) as [string, string];
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
