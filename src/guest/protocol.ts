// The wire protocol between the host and the runtime agent inside a sandbox:
// length-prefixed JSON frames (4-byte big-endian length, then UTF-8 JSON), each
// validated on arrival. Shared by host and guest; imports nothing from the host.
import { z } from 'zod';
import { KvCallMessage, KvResultMessage } from './kv-protocol.ts';

export const HttpRequestData = z.object({
  method: z.string(),
  url: z.string(), // path and query, e.g. /fn/hello/a?b=1
  headers: z.record(z.string(), z.string()),
  bodyBase64: z.string(),
});
export type HttpRequestData = z.infer<typeof HttpRequestData>;

export const HttpResponseData = z.object({
  status: z.number().int().min(100).max(599),
  headers: z.record(z.string(), z.string()),
  bodyBase64: z.string(),
});
export type HttpResponseData = z.infer<typeof HttpResponseData>;

export const InvokeInput = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('event'), event: z.unknown() }),
  z.object({ kind: z.literal('http'), request: HttpRequestData }),
]);
export type InvokeInput = z.infer<typeof InvokeInput>;

export const InvokeOutput = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('value'), value: z.unknown() }),
  z.object({ kind: z.literal('http'), response: HttpResponseData }),
]);
export type InvokeOutput = z.infer<typeof InvokeOutput>;

export const GuestError = z.object({
  code: z.string(),
  message: z.string(),
  stack: z.string().optional(),
});
export type GuestError = z.infer<typeof GuestError>;

export const HostMessage = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('init'),
    artifactPath: z.string(),
    handler: z.string().optional(),
    functionName: z.string(),
    functionVersion: z.number(),
    memoryMb: z.number(),
    env: z.record(z.string(), z.string()),
    resultLimitBytes: z.number(),
    logLimitBytes: z.number(),
  }),
  z.object({
    type: z.literal('invoke'),
    id: z.string(),
    input: InvokeInput,
    deadline: z.number(), // epoch milliseconds, by the host's clock
    /** The call's time budget; a guest with its own clock (a VM) counts from receipt. */
    timeoutMs: z.number().optional(),
  }),
  z.object({ type: z.literal('ping'), id: z.string() }),
  // Sent before init by engines that start guests from a snapshot (microvm):
  // the function's files to write, the host's clock for the guest to set, and
  // fresh entropy to reseed its random sources with (reseed.guest.ts).
  z.object({
    type: z.literal('prepare'),
    id: z.string(),
    epochMs: z.number().optional(),
    entropyBase64: z.string().max(1024).optional(),
    files: z.array(z.object({ path: z.string(), contentBase64: z.string() })),
  }),
  KvResultMessage,
]);
export type HostMessage = z.infer<typeof HostMessage>;

/** One line a call wrote, streamed while it runs (live-log.guest.ts); ts is the guest's epoch ms. */
export const LiveLine = z.object({ ts: z.number(), line: z.string() });
export type LiveLine = z.infer<typeof LiveLine>;
/** A batch of one call's live lines (at most a few thousand: batches leave every 100 ms or at 32 KB). */
export const LiveLineBatch = z.array(LiveLine).max(20_000);

/** What a finished call reports, in the agent's `result` and the isolate pool's `result` alike. */
export const callResultFields = {
  id: z.string(),
  ok: z.boolean(),
  output: InvokeOutput.optional(),
  error: GuestError.optional(),
  logs: z.string(),
  logsTruncated: z.boolean(),
};

export const GuestMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ready'), style: z.string(), initLogs: z.string() }),
  z.object({ type: z.literal('init_error'), error: GuestError, initLogs: z.string() }),
  z.object({ type: z.literal('result'), ...callResultFields }),
  z.object({ type: z.literal('log'), id: z.string(), lines: LiveLineBatch }),
  z.object({ type: z.literal('pong'), id: z.string(), rssBytes: z.number(), heapUsedBytes: z.number() }),
  z.object({ type: z.literal('prepared'), id: z.string(), clockSet: z.boolean(), error: z.string().optional() }),
  KvCallMessage,
]);
export type GuestMessage = z.infer<typeof GuestMessage>;

export function encodeFrame(message: unknown): Buffer {
  const json = JSON.stringify(message);
  const frame = Buffer.allocUnsafe(4 + Buffer.byteLength(json));
  frame.writeUInt32BE(frame.length - 4, 0);
  frame.write(json, 4, 'utf8');
  return frame;
}

/**
 * Sends frames on a stream, coalescing the frames of one event-loop turn into
 * a single write: under load one system call (and one wake-up of the reader)
 * carries many calls or results instead of one each.
 */
export class FrameWriter {
  private queued: Buffer[] = [];

  constructor(private readonly stream: { write(chunk: Buffer): boolean }) {}

  send(message: unknown): void {
    if (this.queued.push(encodeFrame(message)) === 1) setImmediate(() => this.flush());
  }

  private flush(): void {
    const frames = this.queued;
    this.queued = [];
    this.stream.write(frames.length === 1 ? (frames[0] as Buffer) : Buffer.concat(frames));
  }
}

/** Splits a byte stream into frames; rejects any frame over maxBytes. */
export class FrameDecoder {
  private buffered: Buffer = Buffer.alloc(0);
  constructor(private readonly maxBytes: number) {}

  push(chunk: Buffer): Buffer[] {
    this.buffered = this.buffered.length ? Buffer.concat([this.buffered, chunk]) : chunk;
    const frames: Buffer[] = [];
    while (this.buffered.length >= 4) {
      const size = this.buffered.readUInt32BE(0);
      if (size > this.maxBytes) throw new FrameTooLargeError(size, this.maxBytes);
      if (this.buffered.length < 4 + size) break;
      frames.push(this.buffered.subarray(4, 4 + size));
      this.buffered = this.buffered.subarray(4 + size);
    }
    return frames;
  }
}

export class FrameTooLargeError extends Error {
  constructor(
    readonly size: number,
    readonly maxBytes: number,
  ) {
    super(`frame of ${size} bytes is over the ${maxBytes}-byte limit`);
  }
}
