// Dead letters. The server decides when a message is dead (MaxDeliver reached)
// and publishes a max-deliveries advisory, which the dead-letter stream
// captures durably even when no process listens. Every consuming process
// works that stream's consumer: for each advisory it reads the dead message
// from the work stream, keeps a copy on the dead subject, tells the
// application (which marks the activation dead_letter), then deletes the
// message from the work stream and acks the advisory. Retried until that works.
import { headers } from '@nats-io/transport-node';
import type { ConsumerMessages, JetStreamClient, JetStreamManager, JsMsg } from '@nats-io/jetstream';
import { z } from 'zod';
import { redeliveryDelayMs, type QueueMessage } from '../bus.ts';
import { QueueBody, decode } from './codec.ts';
import type { QueueNames } from './streams.ts';

const MaxDeliveriesAdvisory = z.object({
  type: z.literal('io.nats.jetstream.advisory.v1.max_deliver'),
  stream: z.string(),
  consumer: z.string(),
  stream_seq: z.number().int().min(1),
  deliveries: z.number().int().min(1),
});

export interface DeadLetterDeps {
  js: JetStreamClient;
  jsm: JetStreamManager;
  names: QueueNames;
  onDeadLetter: (m: QueueMessage) => Promise<void>;
  log: (msg: string, extra?: Record<string, unknown>) => void;
}

export async function handleAdvisory(m: JsMsg, d: DeadLetterDeps): Promise<void> {
  const parsed = MaxDeliveriesAdvisory.safeParse(decode(m.data, 'a max-deliveries advisory'));
  if (!parsed.success || parsed.data.stream !== d.names.stream) {
    d.log('ignoring an unexpected message on the dead-letter stream', { subject: m.subject });
    m.ack();
    return;
  }
  const { stream_seq: seq, deliveries } = parsed.data;
  try {
    const stored = await d.jsm.streams.getMessage(d.names.stream, { seq }).catch(() => null);
    if (!stored) {
      m.ack(); // already handled (or removed by an operator)
      return;
    }
    const body = QueueBody.safeParse(decode(stored.data, 'a dead queue message'));
    const h = headers();
    h.set('Nimbus-Deliveries', String(deliveries));
    h.set('Nimbus-Stream-Seq', String(seq));
    await d.js.publish(d.names.deadSubject, stored.data, { msgID: `dead-${d.names.stream}-${seq}`, headers: h });
    if (body.success) await d.onDeadLetter({ id: body.data.id, data: body.data.data, deliveries });
    await d.jsm.streams.deleteMessage(d.names.stream, seq, false).catch(() => undefined);
    d.log('queue message dead-lettered', { seq, deliveries, id: body.success ? body.data.id : null });
    m.ack();
  } catch (e) {
    d.log('dead-letter handling failed; will retry', { seq, err: String(e) });
    m.nak(redeliveryDelayMs(m.info.deliveryCount));
  }
}

/** Works the dead-letter consumer until stopped (consuming again if the subscription ends on its own). */
export async function startDeadLetters(d: DeadLetterDeps): Promise<() => Promise<void>> {
  const consumer = await d.js.consumers.get(d.names.dlqStream, d.names.dlqConsumer);
  let stopped = false;
  let messages: ConsumerMessages | undefined = await consumer.consume({ max_messages: 8 });
  const loop = (async () => {
    while (!stopped) {
      try {
        messages ??= await consumer.consume({ max_messages: 8 });
        if (stopped) break;
        for await (const m of messages) await handleAdvisory(m, d);
      } catch (e) {
        d.log('dead-letter consumer failed; consuming again', { err: String(e) });
      }
      messages = undefined;
      if (!stopped) await new Promise((r) => setTimeout(r, 1000));
    }
    await messages?.close().catch(() => undefined);
  })();
  return async () => {
    stopped = true;
    await messages?.close().catch(() => undefined);
    await loop;
  };
}
