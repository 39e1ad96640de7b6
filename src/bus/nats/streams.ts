// The JetStream resources behind one queue, named from the namespace and the
// queue: a work-queue stream (file storage, dedupe window), its durable pull
// consumer (explicit acks, AckWait, MaxDeliver), and a dead-letter stream that
// captures the server's max-deliveries advisories and copies of dead messages.
import {
  AckPolicy,
  DeliverPolicy,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  type ConsumerConfig,
  type JetStreamManager,
  type StreamConfig,
} from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import type { NatsBusOptions } from './options.ts';

export interface QueueNames {
  stream: string;
  subject: string;
  consumer: string;
  dlqStream: string;
  /** Where the server announces a message that reached MaxDeliver. */
  advisorySubject: string;
  /** Where copies of dead messages are kept for operators. */
  deadSubject: string;
  dlqConsumer: string;
}

export function queueNames(queue: string, namespace: string | undefined): QueueNames {
  const token = queue.replace(/[^a-zA-Z0-9_-]/g, '_');
  const ns = namespace ? `${namespace}_` : '';
  const subj = namespace ? `${namespace}.` : '';
  const stream = `${ns}NIMBUS_Q_${token}`;
  return {
    stream,
    subject: `${subj}nimbus.queue.${token}`,
    consumer: 'workers',
    dlqStream: `${ns}NIMBUS_DLQ_${token}`,
    advisorySubject: `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${stream}.workers`,
    deadSubject: `${subj}nimbus.dead.${token}`,
    dlqConsumer: 'dead-letters',
  };
}

function isAlreadyThere(e: unknown): boolean {
  // 10058: stream name in use with another config; 10148: consumer exists with another config.
  return (
    e instanceof JetStreamApiError &&
    (e.code === 10058 || e.code === 10148 || /already (in use|exists)/i.test(e.message))
  );
}

async function ensureStream(jsm: JetStreamManager, cfg: Partial<StreamConfig> & { name: string }): Promise<void> {
  try {
    await jsm.streams.add(cfg);
  } catch (e) {
    if (!isAlreadyThere(e)) throw e;
    await jsm.streams.update(cfg.name, cfg);
  }
}

async function ensureConsumer(
  jsm: JetStreamManager,
  stream: string,
  cfg: Partial<ConsumerConfig> & { durable_name: string },
): Promise<void> {
  try {
    await jsm.consumers.add(stream, cfg);
  } catch (e) {
    if (!isAlreadyThere(e)) throw e;
    const { durable_name, deliver_policy: _d, ...changeable } = cfg;
    await jsm.consumers.update(stream, durable_name, changeable);
  }
}

/** Creates (or brings up to date) the streams and consumers of a queue. Safe to run from every process at once. */
export async function ensureQueue(jsm: JetStreamManager, names: QueueNames, o: NatsBusOptions): Promise<void> {
  await ensureStream(jsm, {
    name: names.stream,
    subjects: [names.subject],
    retention: RetentionPolicy.Workqueue,
    storage: StorageType.File,
    num_replicas: o.replicas,
    duplicate_window: nanos(o.dedupe_window),
  });
  await ensureConsumer(jsm, names.stream, {
    durable_name: names.consumer,
    ack_policy: AckPolicy.Explicit,
    ack_wait: nanos(o.ack_wait),
    max_deliver: o.max_deliver,
    max_ack_pending: 20_000,
    deliver_policy: DeliverPolicy.All,
  });
  await ensureStream(jsm, {
    name: names.dlqStream,
    subjects: [names.advisorySubject, names.deadSubject],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    num_replicas: o.replicas,
    duplicate_window: nanos(o.dedupe_window),
    max_age: nanos(30 * 24 * 3600 * 1000),
  });
  await ensureConsumer(jsm, names.dlqStream, {
    durable_name: names.dlqConsumer,
    ack_policy: AckPolicy.Explicit,
    ack_wait: nanos(30_000),
    filter_subject: names.advisorySubject,
    deliver_policy: DeliverPolicy.All,
  });
}
