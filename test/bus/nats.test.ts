// The NATS bus driver against a real nats-server (a private one, so it can be
// restarted): request/reply and errors, no responders, the durable work queue
// (dedupe, redelivery with a delay, dead letters) and presence, and that all
// of it keeps working across a server restart with nothing acknowledged lost.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { Redeliver, type QueueMessage } from '../../src/bus/bus.ts';
import { NatsBus } from '../../src/bus/nats/bus.ts';
import { NimbusError, isNimbusError } from '../../src/shared/errors.ts';
import { PrivateNats } from '../cluster/nats-server.ts';

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');

async function until(what: string, check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('NATS bus', () => {
  let nats: PrivateNats;
  let a: NatsBus;
  let b: NatsBus;
  let url: string;
  before(async () => {
    nats = await PrivateNats.start();
    url = nats.url({ namespace: 'busTest', ack_wait: 3000, max_deliver: 3, heartbeat: 200, presence_ttl: 1000 });
    [a, b] = await Promise.all([NatsBus.create(url), NatsBus.create(url)]);
  });
  after(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await nats?.dispose();
  });

  it('answers requests across connections; errors arrive as themselves; nobody listening fails at once', async () => {
    const stop = await a.serve('svc.echo', async (d) => {
      if ((d as { fail?: boolean }).fail) throw new NimbusError('conflict', 'no way', { why: 'test' });
      return { echo: d };
    });
    assert.deepEqual(await b.request('svc.echo', { x: 1 }, 2000), { echo: { x: 1 } });
    await assert.rejects(b.request('svc.echo', { fail: true }, 2000), (e) => isNimbusError(e) && e.code === 'conflict' && e.details.why === 'test');
    const started = Date.now();
    await assert.rejects(b.request('svc.nobody', {}, 10_000), (e) => isNimbusError(e) && e.code === 'unavailable' && e.details.delivered === false);
    assert.ok(Date.now() - started < 1000);
    await a.serve('svc.slow', () => new Promise((r) => setTimeout(r, 2000)));
    await assert.rejects(b.request('svc.slow', {}, 300), (e) => isNimbusError(e) && e.code === 'unavailable');
    await stop();
  });

  it('broadcasts to every listener', async () => {
    const got: unknown[] = [];
    const stops = await Promise.all([a, b].map((bus) => bus.listen('news', async (d) => void got.push(d))));
    await a.broadcast('news', { n: 1 });
    await until('both listeners heard it', () => got.length === 2);
    await Promise.all(stops.map((s) => s()));
  });

  it('queues durably: one delivery per id, redelivery after a delay, dead letters after MaxDeliver', async () => {
    const seen: QueueMessage[] = [];
    const dead: QueueMessage[] = [];
    const at = new Map<string, number[]>();
    const stop = await b.consume('work', async (m) => {
      seen.push(m);
      at.set(m.id, [...(at.get(m.id) ?? []), Date.now()]);
      if (m.id === 'retry' && m.deliveries === 1) throw new Redeliver(700);
      if (m.id === 'poison') throw new Error('always fails');
    }, { onDeadLetter: async (m) => void dead.push(m) });
    await a.enqueue('work', 'once', { v: 1 });
    await a.enqueue('work', 'once', { v: 2 });
    await a.enqueue('work', 'retry', {});
    await a.enqueue('work', 'poison', { p: true });
    await until('the poison message is dead-lettered', () => dead.length === 1);
    assert.deepEqual(seen.filter((m) => m.id === 'once').map((m) => m.data), [{ v: 1 }]);
    const [r1, r2] = at.get('retry') ?? [];
    assert.ok(r1 && r2 && r2 - r1 >= 650, 'redelivered after the Redeliver delay');
    assert.equal(at.get('poison')?.length, 3, 'delivered MaxDeliver times');
    assert.deepEqual(dead[0], { id: 'poison', data: { p: true }, deliveries: 3 });
    await stop();
  });

  it('tracks presence: joins, load, goodbyes, and silence past the TTL', async () => {
    const events: string[] = [];
    const unwatch = await b.presence.watch({ seen: (h) => events.push(`seen ${h.id} ${h.inflight}/${h.slots}`), left: (id) => events.push(`left ${id}`) });
    let inflight = 0;
    const bye = await a.presence.announce({ id: 'i1', host: 'h', pid: 1, startedAt: new Date().toISOString() }, () => ({ inflight, slots: 4 }));
    inflight = 3;
    await until('a heartbeat with the new load', () => events.includes('seen i1 3/4'));
    await bye();
    await until('the goodbye', () => events.includes('left i1'));
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(FIXTURES, 'announce.ts'), url, 'i2'], { stdio: ['ignore', 'pipe', 'inherit'] });
    after(() => void child.kill('SIGKILL'));
    await until('i2 joined', () => events.includes('seen i2 0/1'));
    child.kill('SIGKILL');
    const killedAt = Date.now();
    await until('i2 left after the TTL', () => events.includes('left i2'), 5000);
    assert.ok(Date.now() - killedAt >= 700, 'not before the TTL');
    await unwatch();
  });

  it('keeps every acknowledged message and resumes consuming across a server restart', async () => {
    const got = new Set<string>();
    const stop = await b.consume('restart', async (m) => void got.add(m.id));
    for (let i = 0; i < 50; i++) await a.enqueue('restart', `before-${i}`, { i });
    await nats.restart('SIGTERM');
    let sent = 0;
    const end = Date.now() + 15_000;
    while (sent < 50 && Date.now() < end) {
      try {
        await a.enqueue('restart', `after-${sent}`, { sent });
        sent++;
      } catch (e) {
        assert.ok(isNimbusError(e) && e.code === 'unavailable', String(e));
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    assert.equal(sent, 50, 'publishing works again after the restart');
    await until('all 100 acknowledged messages are consumed', () => got.size === 100, 20_000);
    await stop();
  });
});
