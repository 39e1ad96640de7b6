// Runs a queue's handler on the messages of its durable pull consumer, up to
// `concurrency` at once: in-progress acks (`working()`) every third of AckWait
// while the handler runs, ack when it resolves, nak with a delay when it
// throws (Redeliver's delay, else a backoff on the delivery count). A message
// published with a not-before time is nak'ed until it is due.
import type { Consumer, ConsumerMessages, JsMsg } from '@nats-io/jetstream';
import { Redeliver, redeliveryDelayMs, type QueueMessage } from '../bus.ts';
import { QueueBody, decode } from './codec.ts';

export const NOT_BEFORE_HEADER = 'Nimbus-Not-Before';

export interface WorkerOptions {
  concurrency: number;
  ackWaitMs: number;
  log: (msg: string, extra?: Record<string, unknown>) => void;
}

export class QueueWorker {
  private messages?: ConsumerMessages;
  private readonly running = new Set<Promise<void>>();
  private stopped = false;
  private loop?: Promise<void>;

  constructor(
    private readonly consumer: Consumer,
    private readonly handler: (m: QueueMessage) => Promise<void>,
    private readonly options: WorkerOptions,
  ) {}

  async start(): Promise<void> {
    this.messages = await this.consumer.consume({ max_messages: this.options.concurrency });
    this.loop = this.run(this.messages);
  }

  /** Works the messages; if the subscription ends on its own, makes a new one (until stopped). */
  private async run(first: ConsumerMessages): Promise<void> {
    let messages: ConsumerMessages | undefined = first;
    while (!this.stopped) {
      try {
        messages ??= this.messages = await this.consumer.consume({ max_messages: this.options.concurrency });
        if (this.stopped) break;
        for await (const m of messages) {
          if (this.stopped) {
            m.nak();
            continue;
          }
          const p = this.process(m).finally(() => this.running.delete(p));
          this.running.add(p);
          while (this.running.size >= this.options.concurrency) await Promise.race(this.running);
        }
      } catch (e) {
        this.options.log('queue consumer failed; consuming again', { err: String(e) });
      }
      messages = undefined;
      if (!this.stopped) await new Promise((r) => setTimeout(r, 1000));
    }
    await messages?.close().catch(() => undefined);
  }

  private async process(m: JsMsg): Promise<void> {
    let body: QueueBody;
    try {
      body = QueueBody.parse(decode(m.data, 'a queue message'));
    } catch (e) {
      this.options.log('dropping a malformed queue message', { seq: m.seq, err: String(e) });
      m.term();
      return;
    }
    const notBefore = Number(m.headers?.get(NOT_BEFORE_HEADER) ?? 0);
    if (notBefore > Date.now()) {
      m.nak(notBefore - Date.now());
      return;
    }
    const timer = setInterval(() => m.working(), Math.max(500, Math.floor(this.options.ackWaitMs / 3)));
    const deliveries = m.info.deliveryCount;
    try {
      await this.handler({ id: body.id, data: body.data, deliveries });
      m.ack();
    } catch (e) {
      m.nak(e instanceof Redeliver ? e.delayMs : redeliveryDelayMs(deliveries));
    } finally {
      clearInterval(timer);
    }
  }

  /** Stops taking messages, lets the running ones finish (up to `graceMs`), hands back the rest. */
  async stop(graceMs = 10_000): Promise<void> {
    this.stopped = true;
    await this.messages?.close().catch(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(this.running), new Promise((r) => (timer = setTimeout(r, graceMs)))]);
    clearTimeout(timer);
    await this.loop;
  }
}
