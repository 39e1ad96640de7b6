// The message bus contract between front ends, the scheduler and invokers:
// request/reply to one chosen invoker (sync invocations), a work queue (async
// invocations) with delayed redelivery and a dead-letter hook, broadcasts
// (cache invalidation; acknowledged ones wait for every live listener), and optionally a presence registry (invoker
// heartbeats). Drivers: memory/ (embedded) and nats/ (cluster).
import type { Presence } from './presence.ts';

export interface QueueMessage {
  id: string;
  data: unknown;
  /** 1 on first delivery. */
  deliveries: number;
}

export type Unsubscribe = () => Promise<void>;

/** What an acknowledged broadcast heard back: how many listeners handled it, and which live ones did not in time. */
export interface AckReport {
  acked: number;
  missing: string[];
}

export interface ConsumeOptions {
  /**
   * Called once for a message the bus gave up on (delivered its maximum number
   * of times without being acknowledged); the message is then gone from the queue.
   */
  onDeadLetter?: (message: QueueMessage) => Promise<void>;
}

/**
 * Thrown by a queue handler to have the message delivered again after
 * `delayMs` (a retry with backoff) instead of after the bus's default delay.
 */
export class Redeliver extends Error {
  constructor(
    readonly delayMs: number,
    reason = 'retry later',
  ) {
    super(reason);
    this.name = 'Redeliver';
  }
}

/** The bus's delay before redelivering a message whose handler threw: doubles per delivery, capped. */
export function redeliveryDelayMs(deliveries: number, baseMs = 1000, capMs = 30_000): number {
  return Math.min(capMs, baseMs * 2 ** Math.max(0, Math.min(20, deliveries - 1)));
}

export interface Bus {
  /** Whether queued messages survive a restart of the bus itself. */
  readonly durable: boolean;
  /** Invoker heartbeats, where the bus can keep them (cluster mode). */
  readonly presence?: Presence;
  /** Answers requests sent to `subject`; a thrown NimbusError reaches the requester as itself. */
  serve(subject: string, handler: (data: unknown) => Promise<unknown>): Promise<Unsubscribe>;
  /**
   * Sends one request and waits for its reply; `unavailable` if nobody answers in time.
   * When nobody listens at all the error's details say `delivered: false` (safe to send elsewhere).
   */
  request(subject: string, data: unknown, timeoutMs: number): Promise<unknown>;
  /** Delivers `data` to every listener of `subject` (no queueing, no reply). */
  broadcast(subject: string, data: unknown): Promise<void>;
  listen(subject: string, handler: (data: unknown) => Promise<void>): Promise<Unsubscribe>;
  /**
   * A broadcast that resolves once every live `listenAcked` listener of `subject`
   * has run its handler (or `timeoutMs` passed: the report names who did not answer).
   */
  broadcastAcked(subject: string, data: unknown, timeoutMs: number): Promise<AckReport>;
  /** Listens to `broadcastAcked`: the sender waits for this handler to finish. */
  listenAcked(subject: string, handler: (data: unknown) => Promise<void>): Promise<Unsubscribe>;
  /**
   * Fire and forget: hands `data` to whoever listens on `subject` right now (live log lines).
   * Never waits, never throws; with nobody listening, or the bus down, it is lost.
   */
  publish(subject: string, data: unknown): void;
  /** Queues a message; resolves once the bus holds it. With the same id twice, delivered once (dedupe window). */
  enqueue(queue: string, id: string, data: unknown, delayMs?: number): Promise<void>;
  /**
   * Consumes a queue: handler resolves → acknowledged; throws → redelivered later
   * (after `Redeliver.delayMs`, or after `redeliveryDelayMs(deliveries)`).
   */
  consume(
    queue: string,
    handler: (message: QueueMessage) => Promise<void>,
    options?: ConsumeOptions,
  ): Promise<Unsubscribe>;
  close(): Promise<void>;
}
