// Messages between the host's isolate driver and the isolate pool process,
// framed like the agent protocol (length-prefixed JSON) and validated on arrival.
import { z } from 'zod';
import { GuestError, InvokeInput, InvokeOutput } from './protocol.ts';

export const PoolCommand = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('create'),
    sid: z.string(),
    /** The bundled function (sent, so the confined pool needs no access to the host's files). */
    code: z.string(),
    /** Key for V8's code cache (the artifact's sha256). */
    codeKey: z.string(),
    handler: z.string().optional(),
    functionName: z.string(),
    functionVersion: z.number(),
    memoryMb: z.number(),
    env: z.record(z.string(), z.string()),
    resultLimitBytes: z.number(),
    logLimitBytes: z.number(),
  }),
  z.object({ type: z.literal('invoke'), sid: z.string(), id: z.string(), input: InvokeInput, deadline: z.number() }),
  z.object({ type: z.literal('dispose'), sid: z.string() }),
  z.object({ type: z.literal('stats'), sid: z.string(), id: z.string() }),
]);
export type PoolCommand = z.infer<typeof PoolCommand>;

export const PoolEvent = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ready'), pid: z.number() }),
  z.object({ type: z.literal('created'), sid: z.string(), style: z.string(), initMs: z.number() }),
  z.object({ type: z.literal('create_error'), sid: z.string(), error: GuestError, logs: z.string().optional() }),
  z.object({
    type: z.literal('result'),
    sid: z.string(),
    id: z.string(),
    ok: z.boolean(),
    output: InvokeOutput.optional(),
    error: GuestError.optional(),
    logs: z.string(),
    logsTruncated: z.boolean(),
  }),
  /** The isolate is gone (timeout, memory, dispose): the sandbox is dead. */
  z.object({ type: z.literal('dead'), sid: z.string(), reason: z.string() }),
  z.object({ type: z.literal('stats'), sid: z.string(), id: z.string(), heapMb: z.number().optional() }),
]);
export type PoolEvent = z.infer<typeof PoolEvent>;
