// The embedded bus: in-process request/reply, broadcasts and work queues.
// Requests and replies (the invoke hot path) are handed over as they are:
// receivers validate them as on any bus and never change what they were given.
// Broadcasts and queued messages are copied through JSON, as on a real wire.
// Not durable: the scheduler keeps async invocations in the store and
// re-queues them after a restart.
import { NimbusError } from '../../shared/errors.ts';
import { answerInProcess, type RequestHandler } from '../in-process.ts';
import {
  Redeliver,
  redeliveryDelayMs,
  type AckReport,
  type Bus,
  type ConsumeOptions,
  type QueueMessage,
  type Unsubscribe,
} from '../bus.ts';

type Consumer = { handler: (m: QueueMessage) => Promise<void>; options: ConsumeOptions };

export interface MemoryBusOptions {
  /** Deliveries of one message before it is dead-lettered (as the NATS driver's MaxDeliver). */
  maxDeliveries?: number;
}
const wire = <T>(value: T): T => (value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T));

export class MemoryBus implements Bus {
  readonly durable = false;
  private readonly servers = new Map<string, RequestHandler>();
  private readonly listeners = new Map<string, Set<(data: unknown) => Promise<void>>>();
  private readonly consumers = new Map<string, Consumer[]>();
  private readonly backlog = new Map<string, QueueMessage[]>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly recentIds = new Map<string, number>();
  private next = 0;
  private closed = false;
  private readonly maxDeliveries: number;

  constructor(options: MemoryBusOptions = {}) {
    this.maxDeliveries = options.maxDeliveries ?? 64;
  }

  async serve(subject: string, handler: RequestHandler): Promise<Unsubscribe> {
    this.servers.set(subject, handler);
    return async () => {
      if (this.servers.get(subject) === handler) this.servers.delete(subject);
    };
  }

  async request(subject: string, data: unknown, timeoutMs: number): Promise<unknown> {
    const handler = this.servers.get(subject);
    if (!handler || this.closed)
      throw new NimbusError('unavailable', `nothing answers on ${subject}`, { delivered: false });
    return answerInProcess(handler, data, subject, timeoutMs);
  }

  async broadcast(subject: string, data: unknown): Promise<void> {
    if (this.closed) throw new NimbusError('unavailable', 'bus is closed');
    const set = this.listeners.get(subject) ?? new Set();
    await Promise.all([...set].map((h) => h(wire(data)).catch(() => undefined)));
  }

  /** One process: every listener is here, and `broadcast` already waits for their handlers. */
  async broadcastAcked(subject: string, data: unknown): Promise<AckReport> {
    await this.broadcast(subject, data);
    return { acked: this.listeners.get(subject)?.size ?? 0, missing: [] };
  }

  listenAcked(subject: string, handler: (data: unknown) => Promise<void>): Promise<Unsubscribe> {
    return this.listen(subject, handler);
  }

  publish(subject: string, data: unknown): void {
    const set = this.listeners.get(subject);
    if (this.closed || !set?.size) return;
    const copy = wire(data); // one copy for every listener: they only read it
    for (const h of set) h(copy).catch(() => undefined);
  }

  async listen(subject: string, handler: (data: unknown) => Promise<void>): Promise<Unsubscribe> {
    const set = this.listeners.get(subject) ?? new Set();
    set.add(handler);
    this.listeners.set(subject, set);
    return async () => {
      set.delete(handler);
    };
  }

  async enqueue(queue: string, id: string, data: unknown, delayMs = 0): Promise<void> {
    if (this.closed) throw new NimbusError('unavailable', 'bus is closed');
    const key = `${queue}/${id}`;
    if (delayMs === 0 && this.recentIds.has(key)) return;
    this.recentIds.set(key, Date.now());
    this.later(() => this.deliver(queue, { id, data: wire(data), deliveries: 1 }), delayMs);
  }

  async consume(
    queue: string,
    handler: (m: QueueMessage) => Promise<void>,
    options: ConsumeOptions = {},
  ): Promise<Unsubscribe> {
    const list = this.consumers.get(queue) ?? [];
    const consumer: Consumer = { handler, options };
    list.push(consumer);
    this.consumers.set(queue, list);
    const waiting = this.backlog.get(queue) ?? [];
    this.backlog.delete(queue);
    for (const m of waiting) this.deliver(queue, m);
    return async () => {
      const l = this.consumers.get(queue) ?? [];
      this.consumers.set(
        queue,
        l.filter((c) => c !== consumer),
      );
    };
  }

  private deliver(queue: string, message: QueueMessage): void {
    if (this.closed) return;
    this.recentIds.delete(`${queue}/${message.id}`);
    const list = this.consumers.get(queue) ?? [];
    const consumer = list[this.next++ % Math.max(1, list.length)];
    if (!consumer) {
      this.backlog.set(queue, [...(this.backlog.get(queue) ?? []), message]);
      return;
    }
    consumer.handler(message).catch((e: unknown) => {
      if (message.deliveries >= this.maxDeliveries) {
        void consumer.options.onDeadLetter?.(message).catch(() => undefined);
        return;
      }
      const delay = e instanceof Redeliver ? e.delayMs : redeliveryDelayMs(message.deliveries);
      this.later(() => this.deliver(queue, { ...message, deliveries: message.deliveries + 1 }), delay);
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
