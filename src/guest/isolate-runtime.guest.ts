// The runtime inside every V8 isolate: Web-standard globals (console, URL,
// Request/Response/Headers, TextEncoder/Decoder, atob/btoa, crypto, timers,
// structuredClone), a CommonJS loader without Node modules, and the entry
// points the pool calls: __nimbus.register, init, invoke, fire.
import { atob, btoa, NimbusTextDecoder, NimbusTextEncoder } from './isolate-web-encoding.guest.ts';
import { NimbusURL, NimbusURLSearchParams } from './isolate-web-url.guest.ts';
import { HeadersShim, RequestShim, ResponseShim } from './isolate-web-fetch.guest.ts';
import { installTimersAndCrypto, structuredCloneShim } from './isolate-host-calls.guest.ts';
import { resolveHandler, runHandler, GuestCodedError, type ResolvedHandler, type CallContext } from './handlers.guest.ts';
import type { InvokeInput } from './protocol.ts';

const g = globalThis as Record<string, unknown>;
Object.assign(g, {
  TextEncoder: NimbusTextEncoder, TextDecoder: NimbusTextDecoder, atob, btoa,
  URL: NimbusURL, URLSearchParams: NimbusURLSearchParams, Headers: HeadersShim, Request: RequestShim, Response: ResponseShim,
  structuredClone: structuredCloneShim,
});
installTimersAndCrypto(g);

let logs = { text: '', bytes: 0, dropped: 0, limit: 1024 * 1024 };
const format = (args: unknown[]) => args.map((a) => (typeof a === 'string' ? a : a instanceof Error ? a.stack ?? a.message : safeJson(a))).join(' ');
function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}
function write(line: string): void {
  const size = line.length;
  if (logs.dropped > 0 || logs.bytes + size > logs.limit) {
    const room = Math.max(0, logs.limit - logs.bytes);
    if (logs.dropped === 0 && room > 0) logs.text += line.slice(0, room);
    logs.dropped += size - (logs.dropped === 0 ? room : 0);
    logs.bytes = logs.limit;
    return;
  }
  logs.text += line;
  logs.bytes += size;
}
const log = (...args: unknown[]) => write(`${format(args)}\n`);
g.console = { log, info: log, warn: log, error: log, debug: log, trace: log };

let factory: ((exports: unknown, module: { exports: unknown }, require: (name: string) => never) => void) | undefined;
let handler: ResolvedHandler | undefined;
let base: Omit<CallContext, 'activationId' | 'deadline'> | undefined;

const requireBlocked = (name: string): never => {
  throw new Error(`require('${name}'): Node modules are not available in the isolate engine; bundle pure JavaScript dependencies or use another engine`);
};

function takeLogs(): { logs: string; logsTruncated: boolean } {
  const out = { logs: logs.dropped ? `${logs.text}\n[nimbus: log truncated, ${logs.dropped} bytes dropped]\n` : logs.text, logsTruncated: logs.dropped > 0 };
  logs = { text: '', bytes: 0, dropped: 0, limit: logs.limit };
  return out;
}

function guestError(e: unknown): { code: string; message: string; stack?: string } {
  if (e instanceof GuestCodedError) return { code: e.code, message: e.message };
  if (e instanceof Error) return { code: 'function_error', message: e.message || e.name, stack: e.stack };
  return { code: 'function_error', message: typeof e === 'string' ? e : safeJson(e) };
}

g.__nimbus = {
  register(fn: typeof factory) {
    factory = fn;
  },
  init(json: string): string {
    const o = JSON.parse(json) as { handler?: string; env: Record<string, string>; logLimitBytes: number } & Omit<CallContext, 'activationId' | 'deadline' | 'env'>;
    logs.limit = o.logLimitBytes;
    g.process = Object.freeze({ env: { ...o.env } });
    base = { functionName: o.functionName, functionVersion: o.functionVersion, memoryMb: o.memoryMb, env: o.env, resultLimitBytes: o.resultLimitBytes };
    try {
      const module = { exports: {} as unknown };
      factory?.(module.exports, module, requireBlocked);
      handler = resolveHandler(module.exports, o.handler);
      return JSON.stringify({ ok: true, style: handler.style, ...takeLogs() });
    } catch (e) {
      return JSON.stringify({ ok: false, error: guestError(e), ...takeLogs() });
    }
  },
  async invoke(json: string): Promise<string> {
    const o = JSON.parse(json) as { id: string; input: InvokeInput; deadline: number };
    if (!handler || !base) return JSON.stringify({ ok: false, error: { code: 'internal', message: 'isolate not initialised' }, logs: '', logsTruncated: false });
    try {
      const output = await runHandler(handler, o.input, { ...base, activationId: o.id, deadline: o.deadline });
      return JSON.stringify({ ok: true, output, ...takeLogs() });
    } catch (e) {
      return JSON.stringify({ ok: false, error: guestError(e), ...takeLogs() });
    }
  },
};
