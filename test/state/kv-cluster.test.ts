// Function state in cluster mode (real processes, NATS and PostgreSQL): calls
// of one function that overflow from its home invoker to the other count in
// the same PostgreSQL rows and lose nothing; a second front end reads the
// store; the isolate engine reaches it as the process engine does.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { testCluster, type Cluster } from '../cluster/cluster.ts';
import { call, deploy, invoke } from '../cluster/http.ts';

// Each call holds its slot a little after counting, so that forty at once overflow one invoker's
// slots and the balancer spreads them (a call that returns at once may all land on one invoker).
const COUNTER = `exports.handler = async (e, context) => {
  const n = await context.kv.increment('hits');
  await new Promise((r) => setTimeout(r, 100));
  return { n };
};`;

describe('function state in a cluster', async () => {
  const c: Cluster = await testCluster();
  let fe1: string;
  let fe2: string;

  before(async () => {
    [fe1, fe2] = (await c.startNodes({ 'kv-a': ['--slots', '2'], 'kv-b': ['--slots', '2'] })) as [string, string];
  });

  for (const engine of ['process', 'isolate']) {
    it(`counts 40 concurrent calls spread over both invokers without losing one (${engine})`, async () => {
      const name = `count-${engine}`;
      const d = await deploy(fe1, name, COUNTER, { engine, maxSandboxes: 4 });
      assert.equal(d.status, 201, d.text);
      const replies = await Promise.all(Array.from({ length: 40 }, (_, i) => invoke(i % 2 ? fe1 : fe2, name, {})));
      const seen = replies.map((r) => (assert.equal(r.status, 200, `${r.text}\n${c.logs()}`), r.json.n as number));
      assert.deepEqual(
        seen.sort((a, b) => a - b),
        Array.from({ length: 40 }, (_, i) => i + 1),
      );
      const records = await call(fe2, 'GET', `/v1/activations?function=${name}&limit=100`);
      const invokers = new Set(records.json.activations.map((a: { invoker: string }) => a.invoker));
      assert.deepEqual([...invokers].sort(), ['kv-a', 'kv-b'], 'the calls ran on both invokers');
      assert.equal((await call(fe2, 'GET', `/v1/kv/${name}/hits`)).json.value, 40);
    });
  }
});
