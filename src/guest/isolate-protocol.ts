// Messages between the host's isolate driver and the isolate pool process,
// framed like the agent protocol (length-prefixed JSON) and validated on
// arrival; plus what the runtime inside an isolate hands back to the pool,
// which the pool validates too, since user code shares the isolate with it.
import { z } from 'zod';
import { KvAnswer, KvRequest } from './kv-protocol.ts';
import { GuestError, HttpRequestData, InvokeInput, LiveLineBatch, callResultFields } from './protocol.ts';

/** What the host asks of the pool, by name (the `type` of a PoolCommand). */
export const PoolCommandType = {
  Create: 'create',
  Invoke: 'invoke',
  Dispose: 'dispose',
  Stats: 'stats',
  /** The answer to a pool's Fetch. */
  Fetched: 'fetched',
  /** The host's answer to a pool's Kv. */
  KvResult: 'kv_result',
  Ping: 'ping',
} as const;
export type PoolCommandType = (typeof PoolCommandType)[keyof typeof PoolCommandType];

/** What the pool tells the host, by name (the `type` of a PoolEvent). */
export const PoolEventType = {
  Ready: 'ready',
  Created: 'created',
  CreateError: 'create_error',
  Result: 'result',
  Dead: 'dead',
  Disposed: 'disposed',
  Stats: 'stats',
  /** A function's fetch, for the host to make (network: true only). */
  Fetch: 'fetch',
  /** A function's KV operation, for the host to answer from the function's own store. */
  Kv: 'kv',
  /** Log lines a running call wrote (live logs), ahead of its result. */
  Log: 'log',
  Pong: 'pong',
  Fatal: 'fatal',
} as const;
export type PoolEventType = (typeof PoolEventType)[keyof typeof PoolEventType];

export const HeapStats = z.object({
  usedMb: z.number(),
  totalMb: z.number(),
  externalMb: z.number(),
  limitMb: z.number(),
});
export type HeapStats = z.infer<typeof HeapStats>;

/** A response the host fetched for a function (network: true only). */
export const FetchedResponse = z.object({
  status: z.number().int().min(200).max(599),
  statusText: z.string(),
  headers: z.array(z.tuple([z.string(), z.string()])),
  bodyBase64: z.string(),
  url: z.string(),
  redirected: z.boolean(),
});
export type FetchedResponse = z.infer<typeof FetchedResponse>;

const sid = z.string().min(1);

export const PoolCommand = z.discriminatedUnion('type', [
  z.object({
    type: z.literal(PoolCommandType.Create),
    sid,
    /** The bundled function (sent, so the confined pool needs no access to the host's files). */
    code: z.string(),
    /** Key for V8's code cache (the artifact's sha256). */
    codeKey: z.string(),
    handler: z.string().optional(),
    functionName: z.string(),
    functionVersion: z.number(),
    memoryMb: z.number().positive(),
    env: z.record(z.string(), z.string()),
    network: z.boolean(),
    resultLimitBytes: z.number().int().positive(),
    logLimitBytes: z.number().int().positive(),
    initTimeoutMs: z.number().positive(),
  }),
  z.object({ type: z.literal(PoolCommandType.Invoke), sid, id: z.string(), input: InvokeInput, deadline: z.number() }),
  z.object({ type: z.literal(PoolCommandType.Dispose), sid, id: z.string() }),
  z.object({ type: z.literal(PoolCommandType.Stats), sid, id: z.string() }),
  z.object({
    type: z.literal(PoolCommandType.Fetched),
    sid,
    fetchId: z.number().int(),
    response: FetchedResponse.optional(),
    error: z.string().optional(),
  }),
  z.object({ type: z.literal(PoolCommandType.Ping), id: z.string() }),
  z.object({ type: z.literal(PoolCommandType.KvResult), sid, kvId: z.number().int(), answer: KvAnswer }),
]);
export type PoolCommand = z.infer<typeof PoolCommand>;
/** The command of one kind, e.g. `PoolCommandOf<typeof PoolCommandType.Create>`. */
export type PoolCommandOf<T extends PoolCommandType> = Extract<PoolCommand, { type: T }>;

export const PoolEvent = z.discriminatedUnion('type', [
  z.object({ type: z.literal(PoolEventType.Ready), pid: z.number(), node: z.string() }),
  z.object({
    type: z.literal(PoolEventType.Created),
    sid,
    style: z.string(),
    initMs: z.number(),
    codeCache: z.enum(['hit', 'miss', 'rejected']),
    /** Whether a ready spare shell was used (else the isolate was made for this create). */
    spare: z.boolean(),
    logs: z.string(),
  }),
  z.object({ type: z.literal(PoolEventType.CreateError), sid, error: GuestError, logs: z.string() }),
  z.object({
    type: z.literal(PoolEventType.Result),
    sid,
    ...callResultFields,
    /** Heap after the previous call (sampled off the call's path). */
    heap: HeapStats.optional(),
  }),
  /** The isolate is gone (timeout, memory, dispose): the sandbox is dead. */
  z.object({ type: z.literal(PoolEventType.Dead), sid, code: z.string(), reason: z.string() }),
  z.object({ type: z.literal(PoolEventType.Disposed), sid, id: z.string() }),
  z.object({ type: z.literal(PoolEventType.Stats), sid, id: z.string(), heap: HeapStats.optional() }),
  z.object({
    type: z.literal(PoolEventType.Fetch),
    sid,
    fetchId: z.number().int(),
    request: HttpRequestData,
    deadline: z.number(),
  }),
  z.object({ type: z.literal(PoolEventType.Log), sid, id: z.string(), lines: LiveLineBatch }),
  z.object({ type: z.literal(PoolEventType.Pong), id: z.string() }),
  z.object({ type: z.literal(PoolEventType.Kv), sid, kvId: z.number().int(), request: KvRequest }),
  /** V8 lost control of this sandbox's isolate (isolated-vm's onCatastrophicError): the pool aborts right after. */
  z.object({ type: z.literal(PoolEventType.Fatal), sid: z.string(), message: z.string().max(500) }),
]);
export type PoolEvent = z.infer<typeof PoolEvent>;
/** The event of one kind, e.g. `PoolEventOf<typeof PoolEventType.Result>`. */
export type PoolEventOf<T extends PoolEventType> = Extract<PoolEvent, { type: T }>;

/** Error codes the runtime inside an isolate may report; anything else becomes function_error. */
export const RUNTIME_ERROR_CODES = new Set(['function_error', 'result_too_large']);

export const RuntimeInit = z.object({
  ok: z.boolean(),
  style: z.enum(['lambda', 'fetch', 'main']).optional(),
  error: GuestError.optional(),
  logs: z.string(),
});

/** A call's result as the runtime inside an isolate hands it to the pool (the pool adds the id), with its live log tail. */
export const RuntimeResult = z.object(callResultFields).omit({ id: true }).extend({ live: z.string().optional() });

/** What the runtime hands the pool when it pulls live log text: [activation id, text written since the last pull]. */
export const RuntimeLive = z.array(z.tuple([z.string(), z.string()]));
export type RuntimeResult = z.infer<typeof RuntimeResult>;

export const RuntimeFetch = z.object({ request: HttpRequestData, deadline: z.number() });
