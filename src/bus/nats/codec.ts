// What travels on NATS: JSON bodies, replies wrapped in an envelope that says
// whether the handler succeeded (a NimbusError crosses as its JSON form), and
// the queue message body. Each is validated when it arrives.
import { z } from 'zod';
import { NimbusError, errorFromJSON, isNimbusError } from '../../shared/errors.ts';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encode(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value === undefined ? null : value));
}

export function decode(bytes: Uint8Array, what: string): unknown {
  try {
    return JSON.parse(decoder.decode(bytes)) as unknown;
  } catch {
    throw new NimbusError('internal', `${what} is not JSON`);
  }
}

export const ReplyEnvelope = z.discriminatedUnion('ok', [
  z.object({ ok: z.literal(true), data: z.unknown() }),
  z.object({ ok: z.literal(false), error: z.object({ code: z.string(), message: z.string() }).passthrough() }),
]);
export type ReplyEnvelope = z.infer<typeof ReplyEnvelope>;

export function okReply(data: unknown): ReplyEnvelope {
  return { ok: true, data };
}

export function errorReply(e: unknown): ReplyEnvelope {
  const err = isNimbusError(e) ? e : new NimbusError('internal', e instanceof Error ? e.message : String(e));
  return { ok: false, error: err.toJSON() };
}

/** Unwraps a reply: its data, or its error rethrown as a NimbusError. */
export function openReply(bytes: Uint8Array, subject: string): unknown {
  const parsed = ReplyEnvelope.safeParse(decode(bytes, `the reply on ${subject}`));
  if (!parsed.success) throw new NimbusError('internal', `malformed reply on ${subject}`);
  if (!parsed.data.ok) throw errorFromJSON(parsed.data.error);
  return parsed.data.data;
}

/** A queue message's body on the wire: the id the publisher gave and its data. */
export const QueueBody = z.object({ id: z.string().min(1), data: z.unknown() });
export type QueueBody = z.infer<typeof QueueBody>;
