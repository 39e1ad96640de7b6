// The message bus contract between front ends, the scheduler and invokers:
// request/reply to one chosen invoker (sync invocations) and a work queue
// (async invocations). Drivers: memory/ (embedded) and nats/ (cluster).

export interface QueueMessage {
  id: string;
  data: unknown;
  /** 1 on first delivery. */
  deliveries: number;
}

export type Unsubscribe = () => Promise<void>;

export interface Bus {
  /** Whether queued messages survive a restart of the bus itself. */
  readonly durable: boolean;
  /** Answers requests sent to `subject`; a thrown NimbusError reaches the requester as itself. */
  serve(subject: string, handler: (data: unknown) => Promise<unknown>): Promise<Unsubscribe>;
  /** Sends one request and waits for its reply; `unavailable` if nobody answers in time. */
  request(subject: string, data: unknown, timeoutMs: number): Promise<unknown>;
  /** Queues a message; with the same id twice, delivered once (dedupe window). */
  enqueue(queue: string, id: string, data: unknown, delayMs?: number): Promise<void>;
  /** Consumes a queue: handler resolves → acknowledged; throws → redelivered later. */
  consume(queue: string, handler: (message: QueueMessage) => Promise<void>): Promise<Unsubscribe>;
  close(): Promise<void>;
}
