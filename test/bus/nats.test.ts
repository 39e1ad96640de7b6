// What only the NATS bus driver does (the Bus contract itself is in
// conformance.test.ts), against a private nats-server so it can be restarted:
// dead letters kept in the dead-letter stream, presence (heartbeats, load,
// goodbyes, a killed process leaving after the TTL), and consuming across a
// server restart with nothing acknowledged lost.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { Redeliver, type QueueMessage } from '../../src/bus/bus.ts';
import { NatsBus } from '../../src/bus/nats/bus.ts';
import { isNimbusError } from '../../src/shared/errors.ts';
import { queueNames } from '../../src/bus/nats/streams.ts';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
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

  it('keeps a copy of a dead letter in the dead-letter stream and removes it from the work queue', async () => {
    const dead: QueueMessage[] = [];
    const stop = await b.consume(
      'poison',
      async () => {
        throw new Redeliver(50, 'always fails');
      },
      { onDeadLetter: async (m) => void dead.push(m) },
    );
    await a.enqueue('poison', 'p1', { p: 1 });
    await until('dead-lettered', () => dead.length === 1);
    await stop();
    const nc = await connect({ servers: `127.0.0.1:${nats.port}` });
    try {
      const jsm = await jetstreamManager(nc);
      const names = queueNames('poison', 'busTest');
      let left = -1;
      for (let i = 0; i < 50 && left !== 0; i++) {
        left = (await jsm.streams.info(names.stream)).state.messages;
        if (left !== 0) await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(left, 0, 'removed from the work queue');
      const copy = await jsm.streams.getMessage(names.dlqStream, { last_by_subj: names.deadSubject });
      assert.deepEqual(copy?.json(), { id: 'p1', data: { p: 1 } });
      assert.equal(copy?.header.get('Nimbus-Deliveries'), '3');
    } finally {
      await nc.close();
    }
  });

  it('tracks presence: joins, load, goodbyes, and silence past the TTL', async () => {
    const events: string[] = [];
    const unwatch = await b.presence.watch({
      seen: (h) => events.push(`seen ${h.id} ${h.inflight}/${h.slots}`),
      left: (id) => events.push(`left ${id}`),
    });
    let inflight = 0;
    const bye = await a.presence.announce({ id: 'i1', host: 'h', pid: 1, startedAt: new Date().toISOString() }, () => ({
      inflight,
      slots: 4,
    }));
    inflight = 3;
    await until('a heartbeat with the new load', () => events.includes('seen i1 3/4'));
    await bye();
    await until('the goodbye', () => events.includes('left i1'));
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(FIXTURES, 'announce.ts'), url, 'i2'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      await until('i2 joined', () => events.includes('seen i2 0/1'));
      child.kill('SIGKILL');
      const killedAt = Date.now();
      await until('i2 left after the TTL', () => events.includes('left i2'), 5000);
      assert.ok(Date.now() - killedAt >= 700, 'not before the TTL');
    } finally {
      child.kill('SIGKILL');
      await unwatch();
    }
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
