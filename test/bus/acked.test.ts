// Acknowledged broadcasts on NATS (bus/nats/acked.ts), three buses on the
// shared nats-server: the sender's promise resolves only after every live
// listener's handler has finished (a slow one included), and a listener whose
// handler never finishes is named as missing once the timeout has passed.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { NatsBus } from '../../src/bus/nats/bus.ts';
import { sharedBusUrl } from '../cluster/shared-nats.ts';

describe('acknowledged broadcasts on NATS', async () => {
  const url = sharedBusUrl();
  const [a, b, sender] = await Promise.all([NatsBus.create(url), NatsBus.create(url), NatsBus.create(url)]);
  after(() => Promise.all([a, b, sender].map((bus) => bus.close())));

  it('waits for every listener, the slow one too', async () => {
    const done: string[] = [];
    await a.listenAcked('cache.t1', async () => void done.push('a'));
    await b.listenAcked('cache.t1', async () => {
      await new Promise((r) => setTimeout(r, 300));
      done.push('b');
    });
    await sender.listenAcked('cache.t1', async () => void done.push('sender'));
    // Each member's hello reaches the others (at start, and to a new member at once).
    for (let i = 0; i < 50 && (await sender.broadcastAcked('cache.t1', {}, 2000)).acked < 3; i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    done.length = 0;
    const report = await sender.broadcastAcked('cache.t1', { n: 1 }, 5000);
    assert.deepEqual(report, { acked: 3, missing: [] });
    assert.deepEqual([...done].sort(), ['a', 'b', 'sender'], 'every handler had finished when the broadcast resolved');
  });

  it('names a live listener that did not answer in time', async () => {
    await a.listenAcked('cache.t2', async () => new Promise<void>(() => undefined));
    await sender.listenAcked('cache.t2', async () => undefined);
    let report = await sender.broadcastAcked('cache.t2', {}, 300);
    for (let i = 0; i < 50 && report.missing.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      report = await sender.broadcastAcked('cache.t2', {}, 300);
    }
    assert.equal(report.missing.length, 1, JSON.stringify(report));
    assert.equal(report.acked, 1, 'the sender itself answered');
  });
});
