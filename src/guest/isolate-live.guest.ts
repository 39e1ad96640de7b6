// Live log text inside an isolate. The runtime keeps what each running call
// wrote since the pool last asked, tells the pool once that there is some (a
// fire-and-forget callback: the function never waits on it), and hands it
// over when the pool pulls it (entry 'live', about every 100 ms) or with the
// call's answer (its tail). The pool cuts it into lines and holds it to the
// limits (isolate-box.guest.ts): this side is in the function's reach, so its
// own cap only keeps a well-behaved runtime from sending what would be cut.
import type { Activation } from './isolate-scope.guest.ts';

const pending = new Map<string, string>();
const written = new WeakMap<Activation, number>();
let asked = false;
let notify: () => void = () => undefined;
let limitChars = 64 * 1024;

export function setupLive(onPending: (() => void) | undefined, logLimitBytes: number): void {
  if (onPending) notify = onPending;
  limitChars = logLimitBytes;
}

export function liveWrite(a: Activation, text: string): void {
  const used = written.get(a) ?? 0;
  if (used > limitChars) return;
  written.set(a, used + text.length);
  pending.set(a.id, (pending.get(a.id) ?? '') + text);
  if (asked) return;
  asked = true;
  notify();
}

/** Everything pending, as JSON [[id, text], ...] (RuntimeLive). */
export function takeLive(): string {
  asked = false;
  const out = JSON.stringify([...pending]);
  pending.clear();
  return out;
}

/** One call's pending text, taken when it answers. */
export function takeLiveTail(id: string): string | undefined {
  const text = pending.get(id);
  pending.delete(id);
  return text;
}
