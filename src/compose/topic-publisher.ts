// Topic destinations on a node without a front end (a cluster invoker runs the
// async scheduler, so it delivers destinations, but has no EventsService): the
// same topic index and publish the front ends use, loaded on first use and
// reloaded whenever a trigger changes anywhere.
import type { Bus, Unsubscribe } from '../bus/bus.ts';
import { Firer, type ResolveTarget } from '../events/fire.ts';
import { TopicIndex, publish, type Published } from '../events/topics.ts';
import { onTriggerChanged } from '../events/trigger-events.ts';
import { TriggerStore } from '../events/trigger-store.ts';
import type { AsyncScheduler } from '../scheduler/async-scheduler.ts';
import type { Store } from '../storage/store.ts';

export class TopicPublisher {
  private started?: Promise<{ index: TopicIndex; firer: Firer; unlisten: Unsubscribe }>;

  constructor(private readonly o: { store: Store; bus: Bus; scheduler: AsyncScheduler; resolve: ResolveTarget }) {}

  async publish(namespace: string, topic: string, event: unknown, key: string, chainDepth: number): Promise<Published> {
    this.started ??= this.start();
    const { index, firer } = await this.started;
    return publish(index, firer, namespace, topic, event, key, chainDepth);
  }

  private async start() {
    const index = new TopicIndex(new TriggerStore(this.o.store.sql));
    const unlisten = await onTriggerChanged(this.o.bus, () => index.reload());
    await index.reload();
    return { index, firer: new Firer(this.o.scheduler, this.o.resolve), unlisten };
  }

  async close(): Promise<void> {
    const s = await this.started?.catch(() => undefined);
    s?.index.close();
    await s?.unlisten();
  }
}
