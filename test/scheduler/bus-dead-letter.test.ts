// When the bus gives up on an async invocation (delivered its maximum number
// of times without completing: here no invoker ever answers), the scheduler's
// dead-letter hook ends the activation record as dead_letter. Real store,
// real buses (memory, and NATS on the shared server), real dispatcher; the
// balancer names an invoker that does not exist.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { SingleInvokerBalancer } from '../../src/balancer/balancer.ts';
import type { Bus } from '../../src/bus/bus.ts';
import { MemoryBus } from '../../src/bus/memory/bus.ts';
import { NatsBus } from '../../src/bus/nats/bus.ts';
import { resolveConfig } from '../../src/config/options.ts';
import { AsyncScheduler } from '../../src/scheduler/async-scheduler.ts';
import { Dispatcher } from '../../src/scheduler/dispatcher.ts';
import { SqliteStore } from '../../src/storage/sqlite/store.ts';
import { sharedBusUrl } from '../cluster/shared-nats.ts';
import { artifact, config } from '../storage/records.ts';

function deadLetterCase(label: string, openBus: () => Promise<Bus>): void {
  it(`ends the record dead_letter when the ${label} bus gives up`, async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'nimbus-dlq-'));
    const store = new SqliteStore(path.join(dir, 'nimbus.db'));
    const bus = await openBus();
    const scheduler = new AsyncScheduler(
      store,
      bus,
      new Dispatcher(bus, new SingleInvokerBalancer('nobody-home')),
      resolveConfig({ dataDir: dir }),
      () => undefined,
    );
    try {
      await store.migrate();
      const a = artifact('exports.handler = async () => 1');
      const fn = await store.deployVersion('orphan', config(), a.sha, a.bytes);
      await scheduler.start();
      const { activationId } = await scheduler.accept(
        { ...fn, firstDeployedAt: fn.createdAt },
        { kind: 'event', event: {} },
      );
      const end = Date.now() + 20_000;
      let record = await store.getActivation(activationId);
      while (record?.status === 'queued' && Date.now() < end) {
        await new Promise((r) => setTimeout(r, 100));
        record = await store.getActivation(activationId);
      }
      assert.equal(record?.status, 'dead_letter');
      assert.match(record?.error?.message ?? '', /delivered 2 times without completing/);
      assert.equal((await store.getQueueEntry(activationId))?.state, 'done');
    } finally {
      await scheduler.stop();
      await bus.close();
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
}

describe('async invocations the bus gives up on', () => {
  deadLetterCase('memory', async () => new MemoryBus({ maxDeliveries: 2 }));
  const url = sharedBusUrl({ max_deliver: 2 });
  deadLetterCase('NATS', () => NatsBus.create(url));
});
