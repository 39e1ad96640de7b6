// What a namespace's quotas may say. Every quota is optional: one left out is
// not enforced (the platform-wide caps still hold). Stored as JSON on the
// namespace; enforced by tenancy/quotas.ts.
import { z } from 'zod';
import { parseOrThrow } from '../frontend/build/function-spec.ts';

export const QuotaSpec = z
  .object({
    /** Executions of the namespace's functions running at once, across every front end. */
    maxConcurrent: z.number().int().min(1).max(100_000).optional(),
    /** Invocations accepted per minute (sync, async and HTTP), across every front end. */
    invocationsPerMinute: z.number().int().min(1).max(10_000_000).optional(),
    /** Functions the namespace may hold. */
    maxFunctions: z.number().int().min(1).max(100_000).optional(),
    /** The largest memoryMb a function of the namespace may ask for. */
    maxMemoryMb: z.number().int().min(64).max(65_536).optional(),
  })
  .strict();
export type Quotas = z.infer<typeof QuotaSpec>;

export function parseQuotas(raw: unknown): Quotas {
  return parseOrThrow(QuotaSpec, raw ?? {}, 'quotas');
}
