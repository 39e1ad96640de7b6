// The outbox relay on real stores and buses (SQLite with the memory bus,
// PostgreSQL with NATS on the shared server): rows a publisher left behind
// are published under their message ids once due, rows of finished entries
// are removed without a message, rows not yet due stay; a row claimed is not
// claimed again until its lease ends, and relays sharing PostgreSQL claim
// disjoint rows. NATS drops a row published again under the same id.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import type { Bus, QueueMessage } from '../../src/bus/bus.ts';
import { MemoryBus } from '../../src/bus/memory/bus.ts';
import { NatsBus } from '../../src/bus/nats/bus.ts';
import { ASYNC_QUEUE } from '../../src/engine/messages.ts';
import { Outbox } from '../../src/scheduler/outbox.ts';
import { PostgresStore } from '../../src/storage/postgres/store.ts';
import { SqliteStore } from '../../src/storage/sqlite/store.ts';
import type { Store } from '../../src/storage/store.ts';
import { sharedBusUrl } from '../cluster/shared-nats.ts';
import { createTestDatabase } from '../storage/pg-database.ts';
import { activation, entry } from '../storage/records.ts';

const TIMING = { graceMs: 1000, sweepMs: 60_000, leaseMs: 30_000 };
const queued = () => activation({ trigger: 'async', status: 'queued', attempts: 0 });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what: string, check: () => boolean, ms = 10_000): Promise<void> {
  for (const until = Date.now() + ms; !check(); await sleep(50))
    if (Date.now() > until) assert.fail(`${what} within ${ms} ms`);
}

function relayCase(
  label: string,
  open: () => Promise<{ store: Store; bus: Bus; close: () => Promise<void> }>,
  dedupes: boolean,
): void {
  it(`publishes what a stopped publisher left, on ${label}`, async () => {
    const { store, bus, close } = await open();
    try {
      const delivered: string[] = [];
      await bus.consume(
        ASYNC_QUEUE,
        async (m: QueueMessage) => void delivered.push((m.data as { activationId: string }).activationId),
      );
      const now = Date.now();
      const [left1, left2, finished, fresh, rowless] = [queued(), queued(), queued(), queued(), queued()];
      // Stored by a front end that then stopped: no message was published for any of them.
      for (const r of [left1, left2, finished]) await store.enqueue(r, entry(r), now - 1);
      await store.enqueue(fresh, entry(fresh), now + 60_000);
      // Stored without a row (publishAfter null: what an accept does when the bus is not durable).
      await store.enqueue(rowless, entry(rowless), null);
      await store.updateQueueEntry(finished.id, { state: 'done' });
      const relay = new Outbox(store, bus, () => undefined, TIMING);
      assert.equal(relay.publishAfter(now), bus.durable ? now + TIMING.graceMs : null, 'a row only for a durable bus');
      assert.equal(await relay.sweep(), 2);
      await waitFor('both left entries are delivered', () => delivered.length >= 2);
      assert.deepEqual(delivered.sort(), [left1.id, left2.id].sort());
      await relay.flush();
      const later = Date.now() + 3_600_000;
      assert.deepEqual(
        (await store.claimOutbox(later, later, 100)).map((c) => c.activationId),
        [fresh.id],
        'published and finished rows are gone; the row not yet due stays; the rowless entry has none',
      );
      if (dedupes) {
        await store.putOutbox(left1.id, left1.id, 0);
        assert.equal(await relay.sweep(), 1);
        await sleep(1000);
        assert.equal(delivered.length, 2, 'the bus dropped the message published again under the same id');
      }
      await relay.stop();
    } finally {
      await close();
    }
  });
}

describe('the async outbox relay', async () => {
  relayCase(
    'SQLite and the memory bus',
    async () => {
      const dir = await mkdtemp(path.join(tmpdir(), 'nimbus-outbox-'));
      const store = new SqliteStore(path.join(dir, 'nimbus.db'));
      await store.migrate();
      const bus = new MemoryBus();
      return {
        store,
        bus,
        close: async () => (await bus.close(), await store.close(), await rm(dir, { recursive: true, force: true })),
      };
    },
    false,
  );

  const database = await createTestDatabase();
  const busUrl = sharedBusUrl();
  relayCase(
    'PostgreSQL and NATS',
    async () => {
      const store = new PostgresStore(database);
      await store.migrate();
      const bus = await NatsBus.create(busUrl);
      return { store, bus, close: async () => (await bus.close(), await store.close()) };
    },
    true,
  );

  it('relays sharing PostgreSQL claim disjoint rows, and a lease hands rows on', async () => {
    const stores = [new PostgresStore(database), new PostgresStore(database)] as const;
    after(() => Promise.all(stores.map((s) => s.close())));
    await stores[0].migrate();
    await stores[0].clearOutbox(
      (await stores[0].claimOutbox(Date.now() + 3_600_000, 0, 1000)).map((c) => c.activationId),
    );
    const now = Date.now();
    const ids: string[] = [];
    for (let i = 0; i < 300; i++) {
      const r = queued();
      ids.push(r.id);
      await stores[0].enqueue(r, entry(r), now - 1);
    }
    const [a, b] = await Promise.all(stores.map((s) => s.claimOutbox(now, now + 30_000, 200)));
    const claimed = [...a!, ...b!].map((c) => c.activationId);
    assert.equal(new Set(claimed).size, claimed.length, 'no row was claimed by both');
    assert.deepEqual([a!.length, b!.length].sort(), [100, 200]);
    assert.deepEqual(new Set(claimed), new Set(ids));
    assert.ok(a!.every((c) => c.state === 'pending' && c.messageId === c.activationId && c.runAt !== null));
    assert.deepEqual(
      await stores[1].claimOutbox(now + 1000, now + 30_000, 500),
      [],
      'claimed rows wait for their lease',
    );
    assert.equal(
      (await stores[1].claimOutbox(now + 30_000, now + 60_000, 500)).length,
      300,
      'after the lease, another relay takes them',
    );
  });
});
