// Finds the function's handler in its loaded module and runs one call in the
// handler's own style: Lambda handler(event, context), Workers
// default.fetch(request, env, ctx) or OpenWhisk main(params). Uses only
// Web-standard globals so that the isolate runtime can share it.
import type { InvokeInput, InvokeOutput, HttpRequestData, HttpResponseData } from './protocol.ts';
import { bytesToBase64, base64ToBytes, utf8Length } from './base64.guest.ts';
import type { FunctionKv } from './kv-client.guest.ts';

export type HandlerStyle = 'lambda' | 'fetch' | 'main';

export interface ResolvedHandler {
  style: HandlerStyle;
  call: (...args: unknown[]) => unknown;
}

export interface CallContext {
  activationId: string;
  functionName: string;
  functionVersion: number;
  memoryMb: number;
  deadline: number;
  env: Record<string, string>;
  resultLimitBytes: number;
  /** The function's own KV store (context.kv, env.KV); absent where the host offers none. */
  kv?: FunctionKv;
}

/** What every call of one loaded function shares. */
export type FunctionContext = Omit<CallContext, 'activationId' | 'deadline'>;

/** One call's context, written out field by field: in V8 11 (Node 20) a spread followed by new fields gets a hidden class of its own every time (about 1 us a field). */
export function callContext(f: FunctionContext, activationId: string, deadline: number): CallContext {
  return {
    activationId,
    functionName: f.functionName,
    functionVersion: f.functionVersion,
    memoryMb: f.memoryMb,
    deadline,
    env: f.env,
    resultLimitBytes: f.resultLimitBytes,
    kv: f.kv,
  };
}

/** A failure the guest reports with its own error code (not function_error). */
export class GuestCodedError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const NO_HANDLER =
  'no handler found: export `handler(event, context)` (Lambda), `main(params)` (OpenWhisk) or `default { fetch(request, env, ctx) }` (Workers), or name one with `handler`';

type AnyRecord = Record<string, unknown>;
const isFn = (v: unknown): v is (...a: unknown[]) => unknown => typeof v === 'function';
const isObj = (v: unknown): v is AnyRecord => typeof v === 'object' && v !== null;

export function resolveHandler(mod: unknown, named?: string): ResolvedHandler {
  const m = (isObj(mod) || isFn(mod) ? mod : {}) as AnyRecord;
  const def = m.default as unknown;
  if (named) {
    const exportName = named.includes('.') ? named.slice(named.lastIndexOf('.') + 1) : named;
    const target = (m[exportName] ?? (isObj(def) ? def[exportName] : undefined)) as unknown;
    if (exportName === 'fetch' && isObj(def) && isFn(def.fetch)) return bindFetch(def);
    if (isObj(target) && isFn(target.fetch)) return bindFetch(target);
    if (!isFn(target))
      throw new GuestCodedError('function_error', `handler "${named}" is not an exported function; ${NO_HANDLER}`);
    return { style: exportName === 'main' ? 'main' : 'lambda', call: target };
  }
  if (isObj(def) && isFn(def.fetch)) return bindFetch(def);
  if (isFn(m.handler)) return { style: 'lambda', call: m.handler };
  if (isFn(m.main)) return { style: 'main', call: m.main };
  if (isObj(def) && isFn(def.handler)) return { style: 'lambda', call: def.handler };
  if (isObj(def) && isFn(def.main)) return { style: 'main', call: def.main };
  if (isFn(def)) return { style: 'lambda', call: def };
  if (isFn(mod)) return { style: 'lambda', call: mod };
  throw new GuestCodedError('function_error', NO_HANDLER);
}

function bindFetch(target: AnyRecord): ResolvedHandler {
  const fetchFn = target.fetch as (...a: unknown[]) => unknown;
  return { style: 'fetch', call: (...args) => fetchFn.apply(target, args) };
}

export async function runHandler(h: ResolvedHandler, input: InvokeInput, ctx: CallContext): Promise<InvokeOutput> {
  if (h.style === 'fetch') return runFetch(h, input, ctx);
  const arg = h.style === 'lambda' ? lambdaEvent(input) : mainParams(input);
  // OpenWhisk's main(params) gets the same context as a second argument, for context.kv.
  const context = lambdaContext(ctx);
  const result = h.style === 'lambda' ? await callLambda(h, arg, context) : await h.call(arg, context);
  if (input.kind === 'http') return checkHttp(httpFromResult(result), ctx);
  const value = result === undefined ? null : result;
  const size = utf8Length(JSON.stringify(value) ?? 'null');
  if (size > ctx.resultLimitBytes) throw tooLarge(size, ctx);
  return { kind: 'value', value };
}

function tooLarge(size: number, ctx: CallContext): GuestCodedError {
  return new GuestCodedError(
    'result_too_large',
    `result of ${size} bytes is over the ${ctx.resultLimitBytes}-byte limit`,
  );
}

function checkHttp(response: HttpResponseData, ctx: CallContext): InvokeOutput {
  const size = Math.floor((response.bodyBase64.length * 3) / 4);
  if (size > ctx.resultLimitBytes) throw tooLarge(size, ctx);
  return { kind: 'http', response };
}

function callLambda(h: ResolvedHandler, event: unknown, context: AnyRecord): Promise<unknown> {
  if (h.call.length < 3) return Promise.resolve(h.call(event, context));
  return new Promise((resolve, reject) => {
    const done = (err: unknown, value: unknown) => (err ? reject(err) : resolve(value));
    const r = h.call(event, context, done) as { then?: unknown } | undefined;
    if (r && isFn(r.then)) (r as Promise<unknown>).then(resolve, reject);
  });
}

function lambdaContext(ctx: CallContext): AnyRecord {
  return {
    functionName: ctx.functionName,
    functionVersion: String(ctx.functionVersion),
    awsRequestId: ctx.activationId,
    activationId: ctx.activationId,
    memoryLimitInMB: String(ctx.memoryMb),
    invokedFunctionArn: `nimbus:function:${ctx.functionName}:${ctx.functionVersion}`,
    callbackWaitsForEmptyEventLoop: false,
    getRemainingTimeInMillis: () => Math.max(0, ctx.deadline - Date.now()),
    kv: ctx.kv,
  };
}

function bodyText(req: HttpRequestData): string {
  return new TextDecoder().decode(base64ToBytes(req.bodyBase64));
}

/** HTTP requests reach Lambda handlers as an API Gateway (HTTP API, v2) event. */
function lambdaEvent(input: InvokeInput): unknown {
  if (input.kind === 'event') return input.event;
  const req = input.request;
  const url = new URL(req.url, 'http://localhost');
  return {
    version: '2.0',
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers: req.headers,
    queryStringParameters: Object.fromEntries(url.searchParams),
    requestContext: { http: { method: req.method, path: url.pathname } },
    body: bodyText(req),
    isBase64Encoded: false,
  };
}

/** HTTP requests reach main(params) as an OpenWhisk web action's params. */
function mainParams(input: InvokeInput): unknown {
  if (input.kind === 'event') return input.event ?? {};
  const req = input.request;
  const url = new URL(req.url, 'http://localhost');
  let parsed: unknown = {};
  const text = bodyText(req);
  if ((req.headers['content-type'] ?? '').includes('json') && text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = {};
    }
  }
  return {
    ...(isObj(parsed) ? parsed : {}),
    ...Object.fromEntries(url.searchParams),
    __ow_method: req.method.toLowerCase(),
    __ow_headers: req.headers,
    __ow_path: url.pathname,
    __ow_query: url.search.slice(1),
    __ow_body: text,
  };
}

/** A Lambda/OpenWhisk HTTP result: {statusCode, headers, body} or any value (200 JSON). */
function httpFromResult(result: unknown): HttpResponseData {
  if (isObj(result) && typeof result.statusCode === 'number') {
    // Refused here: a status the protocol cannot carry would break the channel and leave the call to time out.
    const status = result.statusCode;
    if (!Number.isInteger(status) || status < 200 || status > 599) {
      throw new GuestCodedError(
        'function_error',
        `the function answered with status ${status}, which is not a final HTTP status; answer with a whole number from 200 to 599`,
      );
    }
    const headers = Object.fromEntries(
      Object.entries(isObj(result.headers) ? result.headers : {}).map(([k, v]) => [k.toLowerCase(), String(v)]),
    );
    const body = result.body;
    let bodyBase64: string;
    if (typeof body === 'string') {
      bodyBase64 = result.isBase64Encoded ? body : bytesToBase64(new TextEncoder().encode(body));
    } else if (body === undefined || body === null) {
      bodyBase64 = '';
    } else {
      headers['content-type'] ??= 'application/json';
      bodyBase64 = bytesToBase64(new TextEncoder().encode(JSON.stringify(body)));
    }
    return { status: result.statusCode, headers, bodyBase64 };
  }
  const isText = typeof result === 'string';
  const text = isText ? result : JSON.stringify(result === undefined ? null : result);
  return {
    status: 200,
    headers: { 'content-type': isText ? 'text/plain; charset=utf-8' : 'application/json' },
    bodyBase64: bytesToBase64(new TextEncoder().encode(text)),
  };
}

async function runFetch(h: ResolvedHandler, input: InvokeInput, ctx: CallContext): Promise<InvokeOutput> {
  let request: Request;
  if (input.kind === 'event') {
    request = new Request('http://localhost/', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(input.event ?? null),
    });
  } else {
    const r = input.request;
    const hasBody = r.method !== 'GET' && r.method !== 'HEAD';
    request = new Request(new URL(r.url, 'http://localhost').toString(), {
      method: r.method,
      headers: r.headers,
      body: hasBody ? (base64ToBytes(r.bodyBase64) as Uint8Array<ArrayBuffer>) : undefined,
    });
  }
  const pending: Promise<unknown>[] = [];
  const fetchCtx = {
    waitUntil: (p: Promise<unknown>) => void pending.push(p),
    passThroughOnException: () => undefined,
  };
  const env = ctx.kv ? { ...ctx.env, KV: ctx.kv } : { ...ctx.env };
  const response = (await h.call(request, env, fetchCtx)) as unknown;
  if (!(response instanceof Response)) {
    throw new GuestCodedError('function_error', 'fetch handler must return a Response');
  }
  const body = new Uint8Array(await response.arrayBuffer());
  if (body.length > ctx.resultLimitBytes) throw tooLarge(body.length, ctx);
  await Promise.allSettled(pending);
  const headers: Record<string, string> = {};
  response.headers.forEach((v, k) => (headers[k] = v));
  return { kind: 'http', response: { status: response.status, headers, bodyBase64: bytesToBase64(body) } };
}
