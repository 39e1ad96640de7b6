// Checks what the runtime inside an isolate answers for a call before it goes
// to the host. Function code shares the isolate with the runtime and can
// overwrite anything there, so the answer is treated as hostile: validated
// against the schema, result and logs held to the sandbox's limits, error
// codes limited to the ones a function may report, ids taken from the pool.
import {
  RuntimeResult,
  RUNTIME_ERROR_CODES,
  PoolEventType,
  type PoolEventOf,
  type HeapStats,
} from './isolate-protocol.ts';
import type { GuestError } from './protocol.ts';
import { MEMORY_REFUSED } from './isolate-memory-budget.guest.ts';

export type ResultEvent = PoolEventOf<typeof PoolEventType.Result>;

interface Limits {
  resultLimitBytes: number;
  logLimitBytes: number;
}

const MARKER_ROOM = 200;

export function failure(sid: string, id: string, error: GuestError): ResultEvent {
  return { type: PoolEventType.Result, sid, id, ok: false, error, logs: '', logsTruncated: false };
}

function capLogs(logs: string, truncated: boolean, limit: number): { logs: string; logsTruncated: boolean } {
  const size = Buffer.byteLength(logs);
  if (size <= limit + MARKER_ROOM) return { logs, logsTruncated: truncated };
  const head = Buffer.from(logs).subarray(0, limit).toString('utf8');
  return {
    logs: `${head}\n[nimbus: log truncated, ${size - Buffer.byteLength(head)} bytes dropped]\n`,
    logsTruncated: true,
  };
}

/** Bytes the output takes; cheap when the whole answer is small enough that it cannot be over. */
function outputBytes(output: NonNullable<RuntimeResult['output']>, answerChars: number, limit: number): number {
  if (output.kind === 'http') return Math.floor((output.response.bodyBase64.length * 3) / 4);
  if (answerChars * 3 <= limit) return 0;
  return Buffer.byteLength(JSON.stringify(output.value === undefined ? null : output.value));
}

/** Turns the runtime's answer into the result event; `memory` says the isolate must end for lack of memory. */
export function checkAnswer(
  sid: string,
  id: string,
  answer: unknown,
  limits: Limits,
  heap?: HeapStats,
  /** Hears the call's live log text the pool had not pulled yet (isolate-live.guest.ts). */
  onLiveTail?: (text: string) => void,
): { event: ResultEvent; memory: boolean } {
  const bad = (message: string, code = 'function_error') => ({
    event: failure(sid, id, { code, message }),
    memory: false,
  });
  if (typeof answer !== 'string')
    return bad('the runtime answered with something that is not text: did the function overwrite runtime globals?');
  const cap = limits.resultLimitBytes * 2 + limits.logLimitBytes * 2 + 64 * 1024;
  if (answer.length > cap)
    return bad(
      `the function's answer of ${answer.length} characters is over the result and log limits`,
      'result_too_large',
    );
  let parsed: ReturnType<typeof RuntimeResult.safeParse>;
  try {
    parsed = RuntimeResult.safeParse(JSON.parse(answer));
  } catch {
    return bad('the runtime answered with malformed JSON: did the function overwrite JSON or runtime globals?');
  }
  if (!parsed.success)
    return bad('the runtime answered with a malformed result: did the function overwrite runtime globals?');
  const r = parsed.data;
  if (r.live) onLiveTail?.(r.live);
  const logs = capLogs(r.logs, r.logsTruncated, limits.logLimitBytes);
  if (!r.ok) {
    const e = r.error ?? { code: 'function_error', message: 'unknown error' };
    const refused = e.message.startsWith(MEMORY_REFUSED);
    const memory = refused || /Array buffer allocation failed/.test(e.message);
    const code = memory ? 'memory_exhausted' : RUNTIME_ERROR_CODES.has(e.code) ? e.code : 'function_error';
    const message = refused
      ? e.message.slice(MEMORY_REFUSED.length + 2)
      : memory
        ? 'the function could not allocate memory (ArrayBuffer over the isolate memory limit)'
        : e.message;
    return {
      event: {
        type: PoolEventType.Result,
        sid,
        id,
        ok: false,
        error: { code, message, stack: e.stack },
        ...logs,
        heap,
      },
      memory,
    };
  }
  if (!r.output) return bad('the runtime answered without an output');
  const size = outputBytes(r.output, answer.length, limits.resultLimitBytes);
  if (size > limits.resultLimitBytes) {
    return {
      event: {
        ...failure(sid, id, {
          code: 'result_too_large',
          message: `result of ${size} bytes is over the ${limits.resultLimitBytes}-byte limit; return less data`,
        }),
        ...logs,
        heap,
      },
      memory: false,
    };
  }
  return { event: { type: PoolEventType.Result, sid, id, ok: true, output: r.output, ...logs, heap }, memory: false };
}
