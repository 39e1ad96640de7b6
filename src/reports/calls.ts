// Reads the finished calls of a window from the activation records, page by
// page through the store (newest first, ties by id), keeping only the few
// numbers the cost report needs so that a busy window does not hold every log.
import { NimbusError } from '../shared/errors.ts';
import type { ActivationRecord, Store } from '../storage/store.ts';
import type { CallFacts } from './cost.ts';

const PAGE = 1000;
/** Most records one report reads; past it the caller narrows the window (the answer would take too long). */
export const MAX_CALLS = 200_000;
/** The least memory a function may be given (options.ts), for a record too short to say its own. */
const FALLBACK_MEMORY_MB = 128;

export interface CallQuery {
  namespace: string;
  /** A qualified function name, or every function of the namespace. */
  functionName?: string;
  fromMs: number;
  toMs: number;
}

/** The calls created in [fromMs, toMs) that ran code and ended. */
export function readCalls(store: Store, q: CallQuery): Promise<CallFacts[]> {
  return readRecords(store, q, callOf);
}

/**
 * The records created in [fromMs, toMs), newest first, each reduced by `pick`
 * (undefined drops it) so that a page's logs and results are not kept. Every
 * report reads through here: one bounded reader (MAX_CALLS).
 */
export async function readRecords<T>(
  store: Store,
  q: CallQuery,
  pick: (r: ActivationRecord) => T | undefined,
): Promise<T[]> {
  const calls: T[] = [];
  let cursor: { before: string; beforeId?: string } = { before: new Date(q.toMs).toISOString() };
  let read = 0;
  for (;;) {
    const page = await store.listActivations({
      namespace: q.namespace,
      functionName: q.functionName,
      after: new Date(q.fromMs).toISOString(),
      limit: PAGE,
      ...cursor,
    });
    read += page.length;
    if (read > MAX_CALLS)
      throw new NimbusError(
        'bad_request',
        `the window holds more than ${MAX_CALLS} activation records; narrow from/to or name one function`,
      );
    for (const r of page) {
      const call = pick(r);
      if (call !== undefined) calls.push(call);
    }
    const last = page.at(-1);
    if (page.length < PAGE || !last) return calls;
    cursor = { before: last.createdAt, beforeId: last.id };
  }
}

/** A record's call, or undefined for one that ran no code (a sequence's parent) or has not ended. */
export function callOf(r: ActivationRecord): CallFacts | undefined {
  if (r.engine === 'sequence' || !r.startedAt || !r.endedAt) return undefined;
  const startMs = Date.parse(r.startedAt);
  const endMs = Date.parse(r.endedAt);
  if (Number.isNaN(startMs) || Number.isNaN(endMs)) return undefined;
  const gbSeconds = r.gbSeconds ?? 0;
  // gbSeconds = memory (GB) × (init + run) seconds (engine/records.ts): the memory the call was given.
  const billedMs = (r.runMs ?? 0) + (r.initMs ?? 0);
  const memoryMb =
    billedMs > 0 && gbSeconds > 0 ? Math.round((gbSeconds * 1024 * 1000) / billedMs) : FALLBACK_MEMORY_MB;
  // A call that took under a millisecond still held a sandbox for that instant.
  return { startMs, endMs: Math.max(endMs, startMs + 1), gbSeconds, memoryMb };
}
