// Topics: a publish finds its subscribers in an in-memory index (never a table
// scan per publish) and stores one async activation per subscriber whose
// filter the event passes, before the 202. The index is loaded at start and
// again whenever a trigger changes anywhere (trigger-events.ts broadcasts
// that; the front end that made the change reloads before it answers), and
// every INDEX_REFRESH_MS in case a broadcast was missed.
import { createHash, randomUUID } from 'node:crypto';
import { eventKey, type Firer } from './fire.ts';
import { matchesFilter } from './trigger-spec.ts';
import type { TriggerRecord, TriggerStore } from './trigger-store.ts';

export const INDEX_REFRESH_MS = 30_000;

export interface Published {
  messageId: string;
  activationIds: string[];
  /** Subscribers whose function could not be resolved (a deleted version, an unknown alias), with why. */
  skipped: { trigger: string; reason: string }[];
}

const keyOf = (namespace: string, topic: string) => `${namespace}\u0000${topic}`;

export class TopicIndex {
  private byTopic = new Map<string, TriggerRecord[]>();
  private loading: Promise<void> = Promise.resolve();
  private readonly refresh: NodeJS.Timeout;

  constructor(private readonly store: TriggerStore) {
    this.refresh = setInterval(() => void this.reload().catch(() => undefined), INDEX_REFRESH_MS);
    this.refresh.unref();
  }

  /** Reads every topic trigger again; reloads asked for while one runs are chained, so the last one sees the latest rows. */
  reload(): Promise<void> {
    this.loading = this.loading
      .catch(() => undefined)
      .then(async () => {
        const next = new Map<string, TriggerRecord[]>();
        for (const t of await this.store.allOfType('topic')) {
          if (t.spec.type !== 'topic') continue;
          const k = keyOf(t.namespace, t.spec.topic);
          next.set(k, [...(next.get(k) ?? []), t]);
        }
        this.byTopic = next;
      });
    return this.loading;
  }

  subscribers(namespace: string, topic: string): readonly TriggerRecord[] {
    return this.byTopic.get(keyOf(namespace, topic)) ?? [];
  }

  close(): void {
    clearInterval(this.refresh);
  }
}

/**
 * Publishes an event: one activation per matching subscriber. With an
 * idempotency key the message id is derived from it, and each subscriber's
 * activation is keyed by message and trigger, so a retried publish (even one
 * cut short half-way) stores what is missing and answers the same ids.
 */
export async function publish(
  index: TopicIndex,
  firer: Firer,
  namespace: string,
  topic: string,
  event: unknown,
  idempotencyKey?: string,
  /** Destination hops that led to this publish (a topic destination). */
  chainDepth?: number,
): Promise<Published> {
  const messageId = idempotencyKey
    ? createHash('sha256').update(`${namespace}\u0000${topic}\u0000${idempotencyKey}`).digest('hex').slice(0, 32)
    : randomUUID().replace(/-/g, '');
  const out: Published = { messageId, activationIds: [], skipped: [] };
  const matching = index
    .subscribers(namespace, topic)
    .filter((t) => t.spec.type === 'topic' && matchesFilter(t.spec.filter, event));
  // All subscribers at once (their bus publishes overlap); every one is settled before the answer.
  const results = await Promise.allSettled(
    matching.map((t) =>
      firer.fire({
        namespace,
        ref: t.spec.function,
        event,
        idempotencyKey: eventKey('topic', messageId, t.name),
        trigger: 'topic',
        ...(chainDepth ? { chainDepth } : {}),
      }),
    ),
  );
  for (const [i, r] of results.entries()) {
    if (r.status === 'fulfilled') {
      out.activationIds.push(r.value.activationId);
      continue;
    }
    // A target that does not resolve (a deleted version, an unknown alias) skips that subscriber. Anything
    // else (the store or bus down: 503, a namespace's rate quota: 429) fails the publish; a retry with
    // the same key stores what is missing and answers the ids stored before.
    const code = (r.reason as { code?: string }).code;
    if (code !== 'not_found' && code !== 'bad_request') throw r.reason;
    out.skipped.push({ trigger: matching[i]?.name ?? '', reason: (r.reason as Error).message });
  }
  return out;
}
