// Builds activation records from what an invocation did: status from the
// outcome's error code, durations, memory, and cost in GB-seconds.
import type { InvokeOutcome } from '../sandbox/driver.ts';
import type { GuestError } from '../guest/protocol.ts';
import type { ActivationRecord, ActivationStatus, FunctionConfig } from '../storage/store.ts';
import type { RunRequest } from './messages.ts';
import { FUNCTION_FAILURES, type ErrorCode } from '../shared/errors.ts';
import { isoTime } from '../shared/iso-time.ts';

const STATUS_BY_CODE: Record<string, ActivationStatus> = {
  timeout: 'timeout',
  memory_exhausted: 'memory_exhausted',
  function_crashed: 'crashed',
  result_too_large: 'result_too_large',
};

export function statusOf(code: string | undefined): ActivationStatus {
  return code ? (STATUS_BY_CODE[code] ?? 'error') : 'success';
}

/** A function failure the scheduler will retry leaves the record queued (its error says why), so it never reads as final. */
function recordedStatus(code: string | undefined, retryable: boolean | undefined): ActivationStatus {
  return code && retryable && FUNCTION_FAILURES.has(code as ErrorCode) ? 'queued' : statusOf(code);
}

/** Rounded to 9 decimals by arithmetic (Number(x.toFixed(9)) costs ten times as much). */
export function gbSeconds(memoryMb: number, ms: number): number {
  return Math.round((memoryMb / 1024) * (ms / 1000) * 1e9) / 1e9;
}

/** What is known of a run before it reaches a sandbox. */
export interface RunFacts {
  req: RunRequest;
  config: FunctionConfig;
  invokerId: string;
  startedAt: number;
}

/**
 * What happened to the run. Kept apart from RunFacts so that callers pass two
 * objects instead of spreading one into another: on Node 20 an object spread
 * followed by fields it lacks gets a hidden class of its own every time (about
 * 1 us a field, and slow reads after).
 */
export interface RunEnd {
  cold: boolean | null;
  sandboxId: string | null;
  initMs: number | null;
  queuedMs: number;
  outcome?: InvokeOutcome;
  /** A failure before the function ran (init error, platform error). */
  failure?: GuestError & { logs?: string };
}

export function buildRecord(facts: RunFacts, end: RunEnd): ActivationRecord {
  const o = end.outcome;
  const error = end.failure ?? (o && !o.ok ? (o.error ?? { code: 'function_error', message: 'unknown error' }) : null);
  const runMs = o?.runMs ?? 0;
  const value = o?.ok && o.output ? (o.output.kind === 'value' ? o.output.value : { http: o.output.response }) : null;
  return {
    id: facts.req.activationId,
    functionName: facts.req.functionName,
    functionVersion: facts.req.functionVersion,
    engine: facts.config.engine,
    trigger: facts.req.trigger,
    status: recordedStatus(error?.code, facts.req.retryable),
    cold: end.cold,
    invoker: facts.invokerId,
    sandboxId: end.sandboxId,
    attempts: facts.req.attempt,
    queuedMs: end.queuedMs,
    initMs: end.initMs,
    runMs: o ? runMs : null,
    createdAt: facts.req.createdAt,
    startedAt: isoTime(facts.startedAt),
    endedAt: isoTime(),
    result: value ?? null,
    error: error ? { code: error.code, message: error.message, ...(error.stack ? { stack: error.stack } : {}) } : null,
    logs: o?.logs ?? end.failure?.logs ?? '',
    logsTruncated: o?.logsTruncated ?? false,
    maxMemoryMb: o?.maxMemoryMb !== undefined ? Math.round(o.maxMemoryMb * 10) / 10 : null,
    gbSeconds: gbSeconds(facts.config.memoryMb, runMs + (end.initMs ?? 0)),
    ...(facts.req.parentActivationId ? { parentActivationId: facts.req.parentActivationId } : {}),
    ...(facts.req.alias ? { alias: facts.req.alias } : {}),
    ...(facts.req.chainDepth ? { chainDepth: facts.req.chainDepth } : {}),
  };
}

/** A record before anything ran: what is known at acceptance, every measurement still empty. */
export function pendingRecord(
  known: Pick<
    ActivationRecord,
    'id' | 'functionName' | 'functionVersion' | 'engine' | 'trigger' | 'status' | 'createdAt'
  >,
): ActivationRecord {
  return {
    ...known,
    cold: null,
    invoker: null,
    sandboxId: null,
    attempts: 0,
    queuedMs: null,
    initMs: null,
    runMs: null,
    startedAt: null,
    endedAt: null,
    result: null,
    error: null,
    logs: '',
    logsTruncated: false,
    maxMemoryMb: null,
    gbSeconds: null,
  };
}

/** Sandbox facts copied into each activation record (a microVM's accelerator and why). */
const RECORDED_DETAILS = ['accelerator', 'acceleratorReason', 'start'];

/** The sandbox details an activation record keeps (undefined when it has none). */
export function recordedDetails(details: Record<string, unknown>): Record<string, string> | undefined {
  const picked = Object.fromEntries(
    RECORDED_DETAILS.filter((k) => typeof details[k] === 'string').map((k) => [k, String(details[k])]),
  );
  return Object.keys(picked).length ? picked : undefined;
}
