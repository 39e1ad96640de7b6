// The embedded bus: in-process request/reply and work queues. Messages are
// copied through JSON on the way, as they would be on a real wire, so nothing
// can depend on sharing objects. Not durable: the scheduler keeps async
// invocations in the store and re-queues them after a restart.
import { NimbusError, errorFromJSON, isNimbusError } from '../../shared/errors.ts';
import type { Bus, QueueMessage, Unsubscribe } from '../bus.ts';

type Handler = (data: unknown) => Promise<unknown>;
type Consumer = (m: QueueMessage) => Promise<void>;

const REDELIVER_MS = 1000;
const wire = <T>(value: T): T => (value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T));

export class MemoryBus implements Bus {
  readonly durable = false;
  private readonly servers = new Map<string, Handler>();
  private readonly consumers = new Map<string, Consumer[]>();
  private readonly backlog = new Map<string, QueueMessage[]>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly recentIds = new Map<string, number>();
  private next = 0;
  private closed = false;

  async serve(subject: string, handler: Handler): Promise<Unsubscribe> {
    this.servers.set(subject, handler);
    return async () => {
      if (this.servers.get(subject) === handler) this.servers.delete(subject);
    };
  }

  async request(subject: string, data: unknown, timeoutMs: number): Promise<unknown> {
    const handler = this.servers.get(subject);
    if (!handler || this.closed) throw new NimbusError('unavailable', `nothing answers on ${subject}`);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new NimbusError('unavailable', `no reply on ${subject} within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      return wire(await Promise.race([handler(wire(data)), timeout]));
    } catch (e) {
      throw isNimbusError(e) ? errorFromJSON(wire(e.toJSON())) : e;
    } finally {
      clearTimeout(timer);
    }
  }

  async enqueue(queue: string, id: string, data: unknown, delayMs = 0): Promise<void> {
    if (this.closed) throw new NimbusError('unavailable', 'bus is closed');
    const key = `${queue}/${id}`;
    if (delayMs === 0 && this.recentIds.has(key)) return;
    this.recentIds.set(key, Date.now());
    this.later(() => this.deliver(queue, { id, data: wire(data), deliveries: 1 }), delayMs);
  }

  async consume(queue: string, handler: Consumer): Promise<Unsubscribe> {
    const list = this.consumers.get(queue) ?? [];
    list.push(handler);
    this.consumers.set(queue, list);
    const waiting = this.backlog.get(queue) ?? [];
    this.backlog.delete(queue);
    for (const m of waiting) this.deliver(queue, m);
    return async () => {
      const l = this.consumers.get(queue) ?? [];
      this.consumers.set(queue, l.filter((h) => h !== handler));
    };
  }

  private deliver(queue: string, message: QueueMessage): void {
    if (this.closed) return;
    this.recentIds.delete(`${queue}/${message.id}`);
    const list = this.consumers.get(queue) ?? [];
    const handler = list[this.next++ % Math.max(1, list.length)];
    if (!handler) {
      this.backlog.set(queue, [...(this.backlog.get(queue) ?? []), message]);
      return;
    }
    handler(message).catch(() => {
      this.later(() => this.deliver(queue, { ...message, deliveries: message.deliveries + 1 }), REDELIVER_MS);
    });
  }

  private later(fn: () => void, ms: number): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}
