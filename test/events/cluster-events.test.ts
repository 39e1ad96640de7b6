// Triggers and topics in cluster mode, with real processes: two front ends and
// two invokers joined by NATS (the shared server, a namespace of this run) and
// PostgreSQL (a database of this run). A cron schedule every second fires each
// tick once although both front ends run a ticker, and still once each after
// the leading front end is killed with SIGKILL (the other takes the advisory
// lock and fires the ticks it missed). A topic with two subscribers gives two
// activations, published through the front end that did not make the
// triggers, each ending once, also when the invoker running them is killed.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { testCluster, type Cluster, type FrontEnd } from '../cluster/cluster.ts';
import { call, deploy, settled } from '../cluster/http.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const LEADS = /now fires cron triggers/;

describe('cluster: cron leadership and topics across front ends', async () => {
  const c: Cluster = await testCluster();
  let fes: FrontEnd[];

  before(async () => {
    await Promise.all([c.startInvoker('inv-a', ['--slots', '4']), c.startInvoker('inv-b', ['--slots', '4'])]);
    fes = await Promise.all([c.startFrontEnd(), c.startFrontEnd()]);
  });

  it(
    'fires each tick once with two front ends, and once after the leader is killed',
    { timeout: 120_000 },
    async () => {
      const [fe1, fe2] = fes.map((f) => f.url) as [string, string];
      assert.equal((await deploy(fe1, 'tick', 'exports.handler = async (e) => e;')).status, 201, c.logs());
      const put = await call(fe2, 'PUT', '/v1/triggers/each-second', {
        type: 'cron',
        schedule: '* * * * * *',
        function: 'tick',
      });
      assert.equal(put.status, 201, put.text);
      const createdAt = Date.parse(put.json.createdAt);
      await sleep(4000);
      const leaders = fes.filter((f) => LEADS.test(f.proc.output));
      assert.equal(leaders.length, 1, `exactly one front end leads:\n${c.logs()}`);
      const leader = leaders[0] as FrontEnd;
      const survivor = fes.find((f) => f !== leader) as FrontEnd;
      await leader.proc.kill('SIGKILL');
      const killedAt = Date.now();
      for (const until = Date.now() + 10_000; !LEADS.test(survivor.proc.output); await sleep(100))
        assert.ok(Date.now() < until, `no front end took the lead after the leader was killed:\n${c.logs()}`);
      const tookOverMs = Date.now() - killedAt;
      assert.ok(tookOverMs < 5000, `took ${tookOverMs} ms to take over`);
      await sleep(3000);
      assert.equal((await call(survivor.url, 'DELETE', '/v1/triggers/each-second')).status, 200);
      const deletedAt = Date.now();

      const list = await call(survivor.url, 'GET', '/v1/activations?function=tick&limit=1000');
      const done = await Promise.all(list.json.activations.map((a: { id: string }) => settled(survivor.url, a.id)));
      assert.ok(
        done.every((a) => a.trigger === 'cron' && a.status === 'success'),
        JSON.stringify(done.slice(0, 3)),
      );
      const times: string[] = done.map((a) => a.result.scheduledTime).sort();
      assert.equal(new Set(times).size, times.length, `a tick fired twice: ${times.join(' ')}`);
      const missing: string[] = [];
      for (let s = Math.floor(createdAt / 1000) + 1; s * 1000 < deletedAt - 500; s++) {
        const t = new Date(s * 1000).toISOString();
        if (!times.includes(t)) missing.push(t);
      }
      assert.deepEqual(missing, [], `ticks lost (took over in ${tookOverMs} ms); fired: ${times.join(' ')}`);
    },
  );

  it('a topic with two subscribers: two activations, each ending once, also when their invoker is killed', async () => {
    const live = fes.filter((f) => f.proc.alive);
    const maker = live[0] as FrontEnd;
    const publisher = (await c.startFrontEnd()).url; // a front end that learns the triggers over the bus or at start
    const slow = 'exports.handler = async (e) => { await new Promise((r) => setTimeout(r, 1500)); return e; };';
    for (const fn of ['sub-one', 'sub-two']) {
      assert.equal((await deploy(maker.url, fn, slow)).status, 201);
      const spec = { type: 'topic', topic: 'jobs', function: fn };
      assert.equal((await call(maker.url, 'PUT', `/v1/triggers/${fn}`, spec)).status, 201);
    }
    // sub-one's home invoker (consistent hashing), with a warm sandbox there.
    const warm = await call(maker.url, 'POST', '/v1/functions/sub-one/invoke', {});
    const home = (await call(maker.url, 'GET', `/v1/activations/${warm.headers.get('x-nimbus-activation-id')}`)).json
      .invoker as string;
    const r = await call(publisher, 'POST', '/v1/topics/jobs/publish', { job: 1 }, { 'idempotency-key': 'job-1' });
    assert.equal(r.status, 202, r.text);
    assert.equal(r.json.activationIds.length, 2, r.text);
    // Kill sub-one's invoker while it runs the message's activation (1.5 s); the bus gives it to the other.
    await sleep(700);
    await c.invokers.get(home)?.kill('SIGKILL');
    const again = await call(maker.url, 'POST', '/v1/topics/jobs/publish', { job: 1 }, { 'idempotency-key': 'job-1' });
    assert.deepEqual(again.json, r.json);
    const done = await Promise.all(r.json.activationIds.map((id: string) => settled(publisher, id, 90_000)));
    assert.deepEqual(done.map((a) => a.functionName).sort(), ['sub-one', 'sub-two']);
    for (const a of done) {
      assert.equal(a.status, 'success', JSON.stringify(a));
      assert.equal(a.trigger, 'topic');
      assert.deepEqual(a.result, { job: 1 });
    }
    const one = done.find((a) => a.functionName === 'sub-one');
    assert.notEqual(one.invoker, home, 'sub-one ended on the invoker that was not killed');
    for (const fn of ['sub-one', 'sub-two']) {
      const records = await call(publisher, 'GET', `/v1/activations?function=${fn}`);
      const fromTopic = records.json.activations.filter((a: { trigger: string }) => a.trigger === 'topic');
      assert.equal(fromTopic.length, 1, `${fn}: one activation from the topic`);
    }
  });
});
