// Builds activation records from what an invocation did: status from the
// outcome's error code, durations, memory, and cost in GB-seconds.
import type { InvokeOutcome } from '../sandbox/driver.ts';
import type { ActivationRecord, ActivationStatus, FunctionConfig } from '../storage/store.ts';
import type { RunRequest } from './messages.ts';

const STATUS_BY_CODE: Record<string, ActivationStatus> = {
  timeout: 'timeout',
  memory_exhausted: 'memory_exhausted',
  function_crashed: 'crashed',
  result_too_large: 'result_too_large',
};

export function statusOf(code: string | undefined): ActivationStatus {
  return code ? STATUS_BY_CODE[code] ?? 'error' : 'success';
}

export function gbSeconds(memoryMb: number, ms: number): number {
  return Number(((memoryMb / 1024) * (ms / 1000)).toFixed(9));
}

export interface RecordInputs {
  req: RunRequest;
  config: FunctionConfig;
  invokerId: string;
  startedAt: number;
  cold: boolean | null;
  sandboxId: string | null;
  initMs: number | null;
  queuedMs: number;
  outcome?: InvokeOutcome;
  /** A failure before the function ran (init error, platform error). */
  failure?: { code: string; message: string; stack?: string; logs?: string };
}

export function buildRecord(i: RecordInputs): ActivationRecord {
  const o = i.outcome;
  const error = i.failure ?? (o && !o.ok ? o.error ?? { code: 'function_error', message: 'unknown error' } : null);
  const runMs = o?.runMs ?? 0;
  const value = o?.ok && o.output ? (o.output.kind === 'value' ? o.output.value : { http: o.output.response }) : null;
  return {
    id: i.req.activationId,
    functionName: i.req.functionName,
    functionVersion: i.req.functionVersion,
    engine: i.config.engine,
    trigger: i.req.trigger,
    status: statusOf(error?.code),
    cold: i.cold,
    invoker: i.invokerId,
    sandboxId: i.sandboxId,
    attempts: i.req.attempt,
    queuedMs: i.queuedMs,
    initMs: i.initMs,
    runMs: o ? runMs : null,
    createdAt: i.req.createdAt,
    startedAt: new Date(i.startedAt).toISOString(),
    endedAt: new Date().toISOString(),
    result: value ?? null,
    error: error ? { code: error.code, message: error.message, ...(error.stack ? { stack: error.stack } : {}) } : null,
    logs: o?.logs ?? i.failure?.logs ?? '',
    logsTruncated: o?.logsTruncated ?? false,
    maxMemoryMb: o?.maxMemoryMb !== undefined ? Math.round(o.maxMemoryMb * 10) / 10 : null,
    gbSeconds: gbSeconds(i.config.memoryMb, runMs + (i.initMs ?? 0)),
  };
}
