// The shared NATS server (127.0.0.1:4222, NIMBUS_TEST_NATS) with a namespace
// of its own per test run: every stream and bucket the run creates carries
// the namespace and is deleted in an `after` hook.
import { randomBytes } from 'node:crypto';
import { after } from 'node:test';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';

export const SHARED_NATS = process.env.NIMBUS_TEST_NATS ?? 'nats://127.0.0.1:4222';

/** Deletes every stream (queues, dead letters, KV buckets) of the namespace. */
export async function deleteNamespace(server: string, namespace: string): Promise<void> {
  const nc = await connect({ servers: server.replace(/^nats:\/\//, '').split('?')[0] ?? '', timeout: 5000 });
  try {
    const jsm = await jetstreamManager(nc);
    const names: string[] = [];
    for await (const name of jsm.streams.names())
      if (name.startsWith(`${namespace}_`) || name.startsWith(`KV_${namespace}_`)) names.push(name);
    for (const name of names) await jsm.streams.delete(name);
  } finally {
    await nc.close();
  }
}

/** A bus URL on the shared server with a fresh namespace, cleaned up after the suite. */
export function sharedBusUrl(options: Record<string, string | number> = {}): string {
  const namespace = `t${randomBytes(5).toString('hex')}`;
  after(() => deleteNamespace(SHARED_NATS, namespace));
  const q = new URLSearchParams(Object.entries({ namespace, ...options }).map(([k, v]) => [k, String(v)]));
  return `${SHARED_NATS}?${q}`;
}
