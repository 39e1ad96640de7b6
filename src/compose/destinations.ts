// Destinations for async invocations (Lambda's model): when an async
// activation ends, its record (without logs) goes to the function, topic or
// webhook its function's config names for success or failure. The outcome is
// kept on the source record. A destination that fails and names a destination
// that fails could loop forever; every hop carries its depth, and a chain stops
// after MAX_HOPS with a clear error on the record where it stopped.
import type { Agent } from 'undici';
import type { ActivationRecord, DestinationOutcome, DestinationTarget, Destinations } from '../storage/store.ts';
import { splitQualified } from '../tenancy/names.ts';
import { postWebhook, type WebhookOptions } from './webhook.ts';

export const MAX_HOPS = 8;

export interface DestinationDeps {
  /** Queues an async activation of a function (name, name:N or name:alias) of the namespace; returns its id. */
  invoke(namespace: string, ref: string, event: unknown, o: HopOptions): Promise<string>;
  /** Publishes to a topic of the namespace; returns the subscribers' activation ids. */
  publish(namespace: string, topic: string, event: unknown, o: HopOptions): Promise<string[]>;
  /** A secret's value, for signing webhooks (undefined when it does not exist). */
  secret(namespace: string, name: string): Promise<string | undefined>;
  webhook: Omit<WebhookOptions, 'agent'> & { agent: Agent };
}

export interface HopOptions {
  /** The depth the new activation has. */
  chainDepth: number;
  /** Dedupes a repeated delivery of the same record (an async retry of the bookkeeping). */
  idempotencyKey: string;
}

/** The event a destination receives: the record, without its logs. */
export function destinationEvent(record: ActivationRecord): Omit<ActivationRecord, 'logs' | 'logsTruncated'> {
  const { logs: _logs, logsTruncated: _truncated, ...rest } = record;
  return rest;
}

/** Where a finished record goes, or undefined when its function names none for this outcome. */
export function destinationFor(
  record: ActivationRecord,
  destinations: Destinations | undefined,
): { on: DestinationOutcome['on']; target: DestinationTarget } | undefined {
  const on = record.status === 'success' ? 'onSuccess' : 'onFailure';
  const target = destinations?.[on];
  return target ? { on, target } : undefined;
}

/** Delivers the record to its destination and says what happened (for the record). */
export async function deliver(
  record: ActivationRecord,
  to: { on: DestinationOutcome['on']; target: DestinationTarget },
  deps: DestinationDeps,
): Promise<DestinationOutcome> {
  const { on, target } = to;
  const shown = 'url' in target ? { url: target.url } : target;
  const depth = (record.chainDepth ?? 0) + 1;
  if (depth > MAX_HOPS) {
    return {
      on,
      target: shown,
      delivered: false,
      error: `destination chain stopped after ${MAX_HOPS} hops (activation ${record.id} is hop ${depth - 1}); a destination that triggers itself cannot loop`,
    };
  }
  const namespace = splitQualified(record.functionName).namespace;
  const event = destinationEvent(record);
  const hop = { chainDepth: depth, idempotencyKey: `destination:${record.id}:${record.attempts}` };
  try {
    if ('function' in target)
      return {
        on,
        target: shown,
        delivered: true,
        activationIds: [await deps.invoke(namespace, target.function, event, hop)],
      };
    if ('topic' in target)
      return {
        on,
        target: shown,
        delivered: true,
        activationIds: await deps.publish(namespace, target.topic, event, hop),
      };
    const secret = target.secret === undefined ? undefined : await deps.secret(namespace, target.secret);
    if (target.secret !== undefined && secret === undefined)
      return {
        on,
        target: shown,
        delivered: false,
        error: `secret "${target.secret}" does not exist; create it with PUT /v1/secrets/${target.secret}`,
      };
    const out = await postWebhook(target.url, secret, event, deps.webhook);
    const last = out.attempts.at(-1);
    return {
      on,
      target: shown,
      delivered: out.delivered,
      attempts: out.attempts,
      ...(out.delivered
        ? {}
        : { error: `webhook not delivered after ${out.attempts.length} attempts: ${last?.error ?? 'no answer'}` }),
    };
  } catch (e) {
    return { on, target: shown, delivered: false, error: (e as Error).message };
  }
}
