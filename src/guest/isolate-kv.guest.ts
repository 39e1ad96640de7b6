// Function state inside an isolate: the KV client over the pool's host call
// `__nimbus_kv(id, request)`; the pool passes the request to the host, which
// answers from the function's own store, and the pool hands the answer back
// through the runtime's entry ('kv'). Like a fetch, an operation belongs to the
// activation that started it: its answer runs on that activation's time, and
// is dropped once the call has answered.
import { kvClient, type FunctionKv, type KvAnswer } from './kv-client.guest.ts';
import { liveActivation, scope, type Activation } from './isolate-scope.guest.ts';

type Post = (id: number, json: string) => void;

const waiting = new Map<number, { owner: Activation; resolve: (answer: KvAnswer) => void }>();
let next = 0;

/** Takes the pool's callback off the global object (before any function code runs) and makes the client. */
export function takeKv(g: Record<string, unknown>): FunctionKv {
  const post = g.__nimbus_kv as Post;
  delete g.__nimbus_kv;
  return kvClient((request) => {
    const owner = liveActivation();
    if (!owner) return Promise.reject(new Error('KV can only be used while the function is handling a call'));
    const id = ++next;
    return new Promise<KvAnswer>((resolve) => {
      waiting.set(id, { owner, resolve });
      post(id, JSON.stringify(request));
    });
  });
}

/** The pool hands in the host's answer. */
export function kvAnswered(id: number, json: string): void {
  const w = waiting.get(id);
  waiting.delete(id);
  if (!w || w.owner.ended) return;
  scope.current = w.owner;
  w.resolve(JSON.parse(json) as KvAnswer);
}

/** Drops what an answered call still waits for. */
export function endKv(a: Activation): void {
  for (const [id, w] of waiting) if (w.owner === a) waiting.delete(id);
}
