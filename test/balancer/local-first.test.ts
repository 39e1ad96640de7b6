// An invoker node's balancer: the async calls it took from the queue run on
// its own invoker while the function is warm there, whatever the cluster's
// balancer would choose; a function cold here goes where the cluster's
// balancer sends it (its home). Real presence over the shared NATS server.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { LocalFirstBalancer } from '../../src/balancer/local-first.ts';
import { ShardingBalancer } from '../../src/balancer/sharding.ts';
import { NatsBus } from '../../src/bus/nats/bus.ts';
import { sharedBusUrl } from '../cluster/shared-nats.ts';
import { until } from '../security/poll.ts';

describe('local-first balancer (invoker nodes)', () => {
  let bus: NatsBus;
  let sharding: ShardingBalancer;
  const goodbyes: (() => Promise<void>)[] = [];
  const warm = new Set<string>();

  before(async () => {
    bus = await NatsBus.create(sharedBusUrl({ heartbeat: 200, presence_ttl: 2000 }));
    const presence = bus.presence;
    assert.ok(presence);
    sharding = await ShardingBalancer.create(presence);
    for (const id of ['node-a', 'node-b'])
      goodbyes.push(
        await presence.announce({ id, host: 'test', pid: process.pid, startedAt: new Date().toISOString() }, () => ({
          inflight: 0,
          slots: 4,
        })),
      );
    await until('both nodes are in the pool', async () => (sharding.snapshot().size === 2 ? true : undefined), 40);
  });
  after(async () => {
    for (const bye of goodbyes) await bye();
    await sharding?.close();
    await bus?.close();
  });

  // A function whose home on the ring is node-b, so that running on node-a is this balancer's doing.
  const homedOnB = async () => {
    for (let i = 0; ; i++) {
      const name = `fn-${i}`;
      const id = await sharding.pick(name);
      sharding.finished(id);
      if (id === 'node-b') return name;
    }
  };

  it('sends a call for a function cold here to the cluster balancer’s pick, and one warm here to itself', async () => {
    const name = await homedOnB();
    const a = new LocalFirstBalancer('node-a', (fn) => warm.has(fn), sharding);
    assert.equal(await a.pick(name), 'node-b', 'cold here: its home');
    a.finished('node-b');
    warm.add(name);
    const picks = await Promise.all(Array.from({ length: 10 }, () => a.pick(name)));
    assert.deepEqual(new Set(picks), new Set(['node-a']), 'warm here: every call stays, past node-a’s 4 slots');
    assert.equal(sharding.snapshot().get('node-a')?.inflight, 0, 'the cluster balancer counted none of them');
    for (const id of picks) a.finished(id);
  });

  it('keeps the cluster balancer’s counts true when both pick this node', async () => {
    const name = await homedOnB();
    warm.delete(name);
    const b = new LocalFirstBalancer('node-b', (fn) => warm.has(fn), sharding);
    const viaCluster = await b.pick(name); // cold here: the cluster picks node-b, its home, and counts it
    warm.add(name);
    const here = await b.pick(name);
    assert.deepEqual([viaCluster, here], ['node-b', 'node-b']);
    assert.equal(sharding.snapshot().get('node-b')?.inflight, 1);
    b.finished(here);
    b.finished(viaCluster);
    assert.equal(sharding.snapshot().get('node-b')?.inflight, 0, 'every pick finished: nothing left counted');
  });

  it('never aborts a run on its own invoker, and passes departures of the others on', () => {
    const a = new LocalFirstBalancer('node-gone', () => true, sharding);
    assert.equal(a.departure('node-gone').aborted, false, 'its own invoker, even before its first heartbeat');
    assert.equal(a.departure('node-unknown').aborted, true, 'an invoker not in the pool');
    assert.equal(a.departure('node-b').aborted, false);
  });
});
