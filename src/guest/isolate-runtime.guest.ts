// The runtime inside every V8 isolate (bundled to one IIFE, compiled with
// V8's code cache): Web-standard globals, a CommonJS loader without Node
// modules, `process` as a frozen object holding only `env` (what Lambda-style
// code reads; Workers code gets env as an argument), and one entry function
// the pool holds a reference to. Nothing of the pool is reachable from here.
import { atob, btoa, NimbusDOMException, NimbusTextDecoder, NimbusTextEncoder } from './isolate-web-encoding.guest.ts';
import { NimbusURL, NimbusURLSearchParams } from './isolate-web-url.guest.ts';
import { NimbusHeaders } from './isolate-web-headers.guest.ts';
import { NimbusRequest, NimbusResponse } from './isolate-web-fetch.guest.ts';
import { structuredClone } from './isolate-web-clone.guest.ts';
import { createConsole } from './isolate-console.guest.ts';
import {
  enableFetch,
  endActivation,
  fetched,
  installHostCalls,
  tick,
  type HostCalls,
} from './isolate-host-calls.guest.ts';
import { warmup } from './isolate-warmup.guest.ts';
import { installMemoryLimits } from './isolate-memory.guest.ts';
import { setMemoryBudget, takeCollector } from './isolate-memory-budget.guest.ts';
import { LogBuffer } from './log-buffer.guest.ts';
import { scope, type Activation } from './isolate-scope.guest.ts';
import { endKv, kvAnswered, takeKv } from './isolate-kv.guest.ts';
import { setupLive, takeLive, takeLiveTail } from './isolate-live.guest.ts';
import {
  resolveHandler,
  runHandler,
  GuestCodedError,
  type ResolvedHandler,
  type FunctionContext,
  callContext,
} from './handlers.guest.ts';
import type { GuestError, InvokeInput, InvokeOutput } from './protocol.ts';

const g = globalThis as unknown as Record<string, unknown>;
const define = (name: string, value: unknown) =>
  Object.defineProperty(g, name, { value, writable: true, configurable: true, enumerable: false });

function takeHostCalls(): HostCalls {
  const calls = {
    wake: g.__nimbus_wake,
    random: g.__nimbus_random,
    fetch: g.__nimbus_fetch,
    live: g.__nimbus_live,
  } as HostCalls;
  for (const name of ['__nimbus_wake', '__nimbus_random', '__nimbus_fetch', '__nimbus_live']) delete g[name];
  return calls;
}

const hostCalls = takeHostCalls();
installHostCalls(g, hostCalls);
setupLive(hostCalls.live, 64 * 1024);
takeCollector(g);
const kv = takeKv(g);
installMemoryLimits(g);
const origin = Date.now();
const globals: Record<string, unknown> = {
  TextEncoder: NimbusTextEncoder,
  TextDecoder: NimbusTextDecoder,
  atob,
  btoa,
  DOMException: NimbusDOMException,
  URL: NimbusURL,
  URLSearchParams: NimbusURLSearchParams,
  Headers: NimbusHeaders,
  Request: NimbusRequest,
  Response: NimbusResponse,
  structuredClone,
  console: createConsole(),
  self: globalThis,
  navigator: Object.freeze({ userAgent: 'nimbus-isolate' }),
  performance: Object.freeze({ timeOrigin: origin, now: () => Date.now() - origin }),
};
for (const [name, value] of Object.entries(globals)) {
  // A class is named as the global it is (Headers, not NimbusHeaders): code logs and compares constructor names.
  if (typeof value === 'function' && /^[A-Z]/.test(name)) Object.defineProperty(value, 'name', { value: name });
  define(name, value);
}

type Factory = (
  this: unknown,
  exports: unknown,
  require: (name: string) => never,
  module: { exports: unknown },
  filename: string,
  dirname: string,
) => void;
interface InitConfig extends FunctionContext {
  handler?: string;
  logLimitBytes: number;
  network: boolean;
}

let handler: ResolvedHandler | undefined;
let base: FunctionContext | undefined;
let logLimitBytes = 64 * 1024;

function requireBlocked(name: string): never {
  throw new Error(
    `require('${name}'): node modules are not available in the isolate engine; bundle pure JavaScript dependencies, or deploy on the process, container or microvm engine`,
  );
}

function guestError(e: unknown): GuestError {
  if (e instanceof GuestCodedError) return { code: e.code, message: e.message };
  if (e instanceof Error) return { code: 'function_error', message: e.message || e.name, stack: e.stack };
  let text: string | undefined;
  try {
    text = typeof e === 'string' ? e : JSON.stringify(e);
  } catch {
    /* fall through */
  }
  return { code: 'function_error', message: text ?? String(e) };
}

function init(factory: Factory, json: string): string {
  const cfg = JSON.parse(json) as InitConfig;
  logLimitBytes = cfg.logLimitBytes;
  setupLive(undefined, cfg.logLimitBytes);
  setMemoryBudget(cfg.memoryMb);
  const load = new LogBuffer(cfg.logLimitBytes);
  scope.loading = load;
  define('process', Object.freeze({ env: { ...cfg.env } }));
  if (cfg.network) enableFetch(g);
  base = {
    functionName: cfg.functionName,
    functionVersion: cfg.functionVersion,
    memoryMb: cfg.memoryMb,
    env: cfg.env,
    resultLimitBytes: cfg.resultLimitBytes,
    kv,
  };
  try {
    const module = { exports: {} as unknown };
    factory.call(module.exports, module.exports, requireBlocked, module, '/function.js', '/');
    handler = resolveHandler(module.exports, cfg.handler);
    return JSON.stringify({ ok: true, style: handler.style, logs: load.text() });
  } catch (e) {
    return JSON.stringify({ ok: false, error: guestError(e), logs: load.text() });
  } finally {
    scope.loading = undefined;
  }
}

async function invoke(json: string): Promise<string> {
  const o = JSON.parse(json) as { id: string; input: InvokeInput; deadline: number };
  const h = handler;
  const b = base;
  if (!h || !b)
    return JSON.stringify({
      ok: false,
      error: { code: 'function_error', message: 'the function is not loaded' },
      logs: '',
      logsTruncated: false,
    });
  const act: Activation = {
    id: o.id,
    deadline: o.deadline,
    logs: new LogBuffer(logLimitBytes),
    ended: false,
    fail: () => undefined,
  };
  scope.current = act;
  let answer: { ok: true; output: InvokeOutput } | { ok: false; error: GuestError };
  try {
    const output = await new Promise<InvokeOutput>((resolve, reject) => {
      act.fail = reject;
      runHandler(h, o.input, callContext(b, o.id, o.deadline)).then(resolve, reject);
    });
    answer = { ok: true, output };
  } catch (e) {
    answer = { ok: false, error: guestError(e) };
  }
  const logs = act.logs.text();
  const logsTruncated = act.logs.truncated;
  const live = takeLiveTail(act.id);
  endActivation(act);
  endKv(act);
  try {
    return JSON.stringify({ logs, logsTruncated, live, ...answer });
  } catch (e) {
    return JSON.stringify({
      ok: false,
      error: { code: 'function_error', message: `the result cannot be serialized: ${(e as Error).message}` },
      logs,
      logsTruncated,
    });
  }
}

/** The one function the pool calls: warmup(), init(factory, config), invoke(call), tick(), live(), fetched(id, answer). */
function entry(op: string, a?: unknown, b?: unknown): unknown {
  if (op === 'invoke') return invoke(a as string);
  if (op === 'warmup') return warmup();
  if (op === 'tick') return tick();
  if (op === 'live') return takeLive();
  if (op === 'fetched') return fetched(a as number, b as string);
  if (op === 'kv') return kvAnswered(a as number, b as string);
  if (op === 'init') return init(a as Factory, b as string);
  throw new Error(`unknown runtime operation ${op}`);
}

// The pool takes this right after the runtime runs (and before any function code does) and deletes it.
define('__nimbus_entry', entry);
