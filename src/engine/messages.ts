// Messages between front ends/scheduler and invokers, validated whenever they
// cross the bus (in embedded mode too, so both modes behave the same).
import { z } from 'zod';
import { InvokeInput, InvokeOutput } from '../guest/protocol.ts';
import { ACTIVATION_STATUSES, type ActivationRecord } from '../storage/store.ts';

export const RunRequest = z.object({
  activationId: z.string().min(1),
  functionName: z.string().min(1),
  functionVersion: z.number().int().min(1),
  trigger: z.enum(['sync', 'async', 'http', 'sequence', 'destination', 'cron', 'topic']),
  input: InvokeInput,
  /** When the front end accepted the call (epoch ms): queue time counts from here. */
  acceptedAt: z.number(),
  attempt: z.number().int().min(1),
  /** A function failure in this run will be retried (async): recorded as `queued` with its error, not as failed. */
  retryable: z.boolean().optional(),
  createdAt: z.string(),
  /** A sequence step: the sequence's activation id. */
  parentActivationId: z.string().optional(),
  /** Destination hops that led to this run (compose/destinations.ts), for the record. */
  chainDepth: z.number().int().min(1).max(64).optional(),
  /** The alias the call came through (src/frontend/targets.ts), for the record. */
  alias: z.string().max(64).optional(),
  /** The caller asked for this version (by number or alias), so it is served even when a newer one exists. */
  pinned: z.boolean().optional(),
  /**
   * The caller stores the outcome record itself, in the commit that moves its
   * own bookkeeping on (the async scheduler: the record with its queue
   * change); the invoker only returns it.
   */
  callerRecords: z.boolean().optional(),
});
export type RunRequest = z.infer<typeof RunRequest>;

/**
 * Checks what the front end relies on. The receiver keeps the reply it was
 * given (the whole record), so this schema strips rather than copies the
 * record's other fields: a passthrough copy cost 3 us per call.
 */
export const RunReply = z.object({
  activation: z.object({ id: z.string(), status: z.enum(ACTIVATION_STATUSES) }),
  output: InvokeOutput.optional(),
});
export type RunReply = { activation: ActivationRecord; output?: InvokeOutput };

export function invokerSubject(invokerId: string): string {
  return `nimbus.invoker.${invokerId}.run`;
}

export const ASYNC_QUEUE = 'nimbus-async';
