// The Bus contract, one set of cases run against every driver: the memory bus
// and the NATS bus (on the shared server, in a namespace of this run). Request
// and reply with errors crossing as themselves, nobody listening, broadcasts,
// the work queue's dedupe, redelivery after a Redeliver delay, and dead
// letters after the maximum number of deliveries.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redeliver, type Bus, type QueueMessage } from '../../src/bus/bus.ts';
import { MemoryBus } from '../../src/bus/memory/bus.ts';
import { NatsBus } from '../../src/bus/nats/bus.ts';
import { NimbusError, isNimbusError } from '../../src/shared/errors.ts';
import { sharedBusUrl } from '../cluster/shared-nats.ts';

async function until(what: string, check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** `open` gives two handles on one bus (two connections where the driver has them); max deliveries 3. */
function busCases(label: string, open: () => Promise<[Bus, Bus]>): void {
  describe(`bus conformance: ${label}`, () => {
    let a: Bus;
    let b: Bus;
    before(async () => {
      [a, b] = await open();
    });
    after(async () => {
      await a?.close();
      if (b !== a) await b?.close();
    });

    it('answers requests; a thrown NimbusError arrives as itself; nobody listening fails at once, undelivered', async () => {
      const stop = await a.serve('svc.echo', async (d) => {
        if ((d as { fail?: boolean }).fail) throw new NimbusError('conflict', 'no way', { why: 'test' });
        return { echo: d };
      });
      assert.deepEqual(await b.request('svc.echo', { x: [1, 'two'] }, 2000), { echo: { x: [1, 'two'] } });
      await assert.rejects(
        b.request('svc.echo', { fail: true }, 2000),
        (e) => isNimbusError(e) && e.code === 'conflict' && e.details.why === 'test',
      );
      const started = Date.now();
      await assert.rejects(
        b.request('svc.nobody', {}, 10_000),
        (e) => isNimbusError(e) && e.code === 'unavailable' && e.details.delivered === false,
      );
      assert.ok(Date.now() - started < 1000);
      // A handler that throws before returning a promise (a schema check up front) answers with its error too.
      await a.serve('svc.strict', (() => {
        throw new NimbusError('bad_request', 'checked up front');
      }) as unknown as (d: unknown) => Promise<unknown>);
      await assert.rejects(b.request('svc.strict', {}, 2000), (e) => isNimbusError(e) && e.code === 'bad_request');
      await a.serve('svc.slow', () => new Promise((r) => setTimeout(r, 1500)));
      await assert.rejects(b.request('svc.slow', {}, 200), (e) => isNimbusError(e) && e.code === 'unavailable');
      await stop();
      await assert.rejects(b.request('svc.echo', {}, 2000), (e) => isNimbusError(e) && e.code === 'unavailable');
    });

    it('answers a request to a subject it serves itself in this process: the request as it is, errors as over a wire', async () => {
      let given: unknown;
      const stop = await a.serve('svc.here', async (d) => {
        given = d;
        if ((d as { fail?: string }).fail === 'plain') throw new Error('not a platform error');
        if ((d as { fail?: string }).fail) throw new NimbusError('throttled', 'busy here', { retryAfterMs: 5 });
        return { ok: true };
      });
      try {
        const sent = { n: 1 };
        assert.deepEqual(await a.request('svc.here', sent, 2000), { ok: true });
        assert.equal(given, sent, 'handed over without a copy: no wire in between');
        await assert.rejects(
          a.request('svc.here', { fail: 'nimbus' }, 2000),
          (e) => isNimbusError(e) && e.code === 'throttled' && e.details.retryAfterMs === 5,
        );
        await assert.rejects(
          a.request('svc.here', { fail: 'plain' }, 2000),
          (e) => isNimbusError(e) && e.code === 'internal' && /not a platform error/.test(e.message),
        );
      } finally {
        await stop();
      }
      await assert.rejects(a.request('svc.here', {}, 2000), (e) => isNimbusError(e) && e.code === 'unavailable');
    });

    it('broadcasts to every listener, and not after it stopped listening', async () => {
      const got: string[] = [];
      const stops = await Promise.all(
        [a, b].map((bus, i) => bus.listen('news', async (d) => void got.push(`${i}:${(d as { n: number }).n}`))),
      );
      await a.broadcast('news', { n: 1 });
      await until('both listeners heard it', () => got.length === 2);
      await stops[0]?.();
      await a.broadcast('news', { n: 2 });
      await until('the remaining listener heard it', () => got.includes('1:2'));
      assert.deepEqual(got.sort(), ['0:1', '1:1', '1:2']);
      await stops[1]?.();
    });

    it('publishes fire and forget: listeners now hear it, nobody listening is no error', async () => {
      const got: unknown[] = [];
      a.publish('logs.nobody', { line: 'lost' });
      const stop = await b.listen('logs.x', async (d) => void got.push(d));
      a.publish('logs.x', { line: 'one' });
      a.publish('logs.x', { line: 'two' });
      await until('both lines arrived', () => got.length === 2);
      assert.deepEqual(got, [{ line: 'one' }, { line: 'two' }]);
      await stop();
      a.publish('logs.x', { line: 'after' });
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(got.length, 2);
    });

    it('queues: one delivery per id, redelivery after the Redeliver delay, dead letters after the maximum deliveries', async () => {
      const at = new Map<string, number[]>();
      const data = new Map<string, unknown>();
      const dead: QueueMessage[] = [];
      const stop = await b.consume(
        'work',
        async (m) => {
          at.set(m.id, [...(at.get(m.id) ?? []), Date.now()]);
          data.set(m.id, m.data);
          if (m.id === 'retry' && m.deliveries === 1) throw new Redeliver(400);
          if (m.id === 'poison') throw new Redeliver(50, 'always fails');
        },
        { onDeadLetter: async (m) => void dead.push(m) },
      );
      await a.enqueue('work', 'once', { v: 1 });
      await a.enqueue('work', 'once', { v: 2 });
      await a.enqueue('work', 'retry', {});
      await a.enqueue('work', 'poison', { p: true });
      await until('the poison message is dead-lettered', () => dead.length === 1);
      await until('the retried message came back', () => (at.get('retry')?.length ?? 0) === 2);
      assert.equal(at.get('once')?.length, 1);
      assert.deepEqual(data.get('once'), { v: 1 });
      const [r1, r2] = at.get('retry') ?? [];
      assert.ok(r1 !== undefined && r2 !== undefined && r2 - r1 >= 350, 'redelivered after the delay');
      assert.equal(at.get('poison')?.length, 3);
      assert.deepEqual(dead[0], { id: 'poison', data: { p: true }, deliveries: 3 });
      await stop();
    });
  });
}

busCases('memory', async () => {
  const bus = new MemoryBus({ maxDeliveries: 3 });
  return [bus, bus];
});

describe('nats driver', () => {
  const url = sharedBusUrl({ max_deliver: 3, ack_wait: 3000 });
  busCases('nats', async () => Promise.all([NatsBus.create(url), NatsBus.create(url)]));
});
