// Globals inside an isolate that need the pool process: timers (the pool keeps
// the real timer and calls __nimbusFire back) and crypto's random bytes. The
// pool installs $nimbusHost (an isolated-vm Reference) before this runs.
import { atob } from './isolate-web-encoding.guest.ts';

interface HostRef {
  applySync(thisArg: undefined, args: unknown[]): unknown;
  applyIgnored(thisArg: undefined, args: unknown[]): void;
}

type TimerFn = (...args: unknown[]) => void;

export function installTimersAndCrypto(g: Record<string, unknown>): void {
  const host = g.$nimbusHost as HostRef | undefined;
  delete g.$nimbusHost;
  const timers = new Map<number, { fn: TimerFn; args: unknown[]; repeat: number | undefined }>();
  let next = 1;
  const schedule = (fn: TimerFn, ms: unknown, args: unknown[], repeat: boolean) => {
    if (typeof fn !== 'function') throw new TypeError('timer callback must be a function');
    const id = next++;
    const delay = Math.max(0, Number(ms) || 0);
    timers.set(id, { fn, args, repeat: repeat ? Math.max(1, delay) : undefined });
    host?.applyIgnored(undefined, ['timer', id, delay]);
    return id;
  };
  const clear = (id: unknown) => {
    if (timers.delete(Number(id))) host?.applyIgnored(undefined, ['clear', Number(id)]);
  };
  g.setTimeout = (fn: TimerFn, ms?: number, ...args: unknown[]) => schedule(fn, ms, args, false);
  g.setInterval = (fn: TimerFn, ms?: number, ...args: unknown[]) => schedule(fn, ms, args, true);
  g.clearTimeout = clear;
  g.clearInterval = clear;
  g.queueMicrotask = (fn: () => void) => void Promise.resolve().then(fn);
  g.__nimbusFire = (id: number) => {
    const t = timers.get(id);
    if (!t) return;
    if (t.repeat === undefined) timers.delete(id);
    else host?.applyIgnored(undefined, ['timer', id, t.repeat]);
    t.fn(...t.args);
  };

  const randomBytes = (n: number): Uint8Array => {
    const b64 = String(host?.applySync(undefined, ['random', n]) ?? '');
    const bin = atob(b64);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  };
  g.crypto = {
    getRandomValues<T extends ArrayBufferView>(array: T): T {
      if (array.byteLength > 65536) throw new RangeError('getRandomValues: at most 65536 bytes');
      new Uint8Array(array.buffer, array.byteOffset, array.byteLength).set(randomBytes(array.byteLength));
      return array;
    },
    randomUUID(): string {
      const b = randomBytes(16);
      b[6] = ((b[6] ?? 0) & 0x0f) | 0x40;
      b[8] = ((b[8] ?? 0) & 0x3f) | 0x80;
      const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
      return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
    },
  };
  g.fetch = async () => {
    throw new TypeError('fetch is not available in the isolate engine: it runs without network (deploy on the container or microvm engine with network: true)');
  };
}

/** structuredClone for plain data: primitives, arrays, objects, Date, Map, Set, typed arrays. */
export function structuredCloneShim<T>(value: T, seen = new Map<unknown, unknown>()): T {
  if (typeof value !== 'object' || value === null) {
    if (typeof value === 'function' || typeof value === 'symbol') throw new Error('structuredClone: value could not be cloned');
    return value;
  }
  if (seen.has(value)) return seen.get(value) as T;
  let out: unknown;
  if (value instanceof Date) out = new Date(value.getTime());
  else if (value instanceof Map) out = new Map([...value].map(([k, v]) => [structuredCloneShim(k, seen), structuredCloneShim(v, seen)]));
  else if (value instanceof Set) out = new Set([...value].map((v) => structuredCloneShim(v, seen)));
  else if (ArrayBuffer.isView(value)) out = (value as unknown as { slice(): unknown }).slice();
  else if (Array.isArray(value)) {
    const arr: unknown[] = [];
    seen.set(value, arr);
    for (const v of value) arr.push(structuredCloneShim(v, seen));
    return arr as T;
  } else {
    const obj: Record<string, unknown> = {};
    seen.set(value, obj);
    for (const [k, v] of Object.entries(value)) obj[k] = structuredCloneShim(v, seen);
    return obj as T;
  }
  seen.set(value, out);
  return out as T;
}
