// Function state on the wire: the KV operation a guest asks for and the host's
// answer, validated on arrival by whoever receives them (the host validates the
// request, since user code can write to the channel). The agent carries them as
// `kv` / `kv_result` frames, the isolate pool as its Kv / KvResult messages.
// Shapes only: the limits are checked by the client (kv-client.guest.ts) and the
// host (src/state/).
import { z } from 'zod';
import type { KvAnswer as KvAnswerShape, KvRequest as KvRequestShape } from './kv-client.guest.ts';

const key = z.string();

export const KvRequest = z.discriminatedUnion('op', [
  z.object({ op: z.literal('get'), key }),
  z.object({ op: z.literal('put'), key, value: z.string(), ttlSeconds: z.number().optional() }),
  z.object({ op: z.literal('delete'), key }),
  z.object({ op: z.literal('list'), prefix: z.string(), cursor: z.string().optional(), limit: z.number() }),
  z.object({ op: z.literal('increment'), key, by: z.number() }),
]);
export type KvRequest = KvRequestShape;

export const KvAnswer = z.object({ ok: z.boolean(), result: z.unknown().optional(), error: z.string().optional() });
export type KvAnswer = KvAnswerShape;

/** The guest asks (agent frame). `id` is the guest's, to match the answer. */
export const KvCallMessage = z.object({ type: z.literal('kv'), id: z.string(), request: KvRequest });
/** The host answers (agent frame). */
export const KvResultMessage = z.object({ type: z.literal('kv_result'), id: z.string(), answer: KvAnswer });

// The schemas and the guest's types must describe the same messages (a type error otherwise).
type Agrees<T extends true> = T;
export type KvShapesAgree = Agrees<z.infer<typeof KvRequest> extends KvRequestShape ? true : false>;
