// Globals inside an isolate that need the pool process: timers, crypto's
// random bytes and (network: true only) fetch. Timers live in the isolate; the
// pool keeps one wake-up per isolate and calls tick(), which runs one due
// timer per entry so that its microtasks stay with its activation. Timers and
// fetches belong to the activation that started them and end with it.
import { base64ToBytes, bytesToBase64 } from './base64.guest.ts';
import { NimbusDOMException } from './isolate-web-encoding.guest.ts';
import { liveActivation, scope, type Activation } from './isolate-scope.guest.ts';

/** The pool's functions, handed in as isolated-vm Callbacks (copies in, copies out). */
export interface HostCalls {
  /** Asks the pool to call tick() in `ms` (fire and forget). */
  wake(ms: number): void;
  random(bytes: number): Uint8Array;
  /** Present only for functions with network: true. */
  fetch?: (id: number, json: string) => void;
  /** Tells the pool that live log text waits to be pulled (fire and forget). */
  live?: () => void;
}

type TimerFn = (...args: unknown[]) => void;
interface Timer {
  owner: Activation;
  at: number;
  fn: TimerFn;
  args: unknown[];
  repeat: number | undefined;
}

const timers = new Map<number, Timer>();
const fetches = new Map<number, { owner: Activation; resolve: (r: Response) => void; reject: (e: unknown) => void }>();
let host: HostCalls;
let nextTimer = 1;
let nextFetch = 1;

function schedule(fn: TimerFn, ms: unknown, args: unknown[], repeat: boolean): number {
  if (typeof fn !== 'function') throw new TypeError('The "callback" argument must be of type function');
  const id = nextTimer++;
  const owner = liveActivation();
  // Outside a running call (module load, after the call answered) a timer would run on nobody's time: it never fires.
  if (!owner) return id;
  const delay = Math.min(Math.max(0, Number(ms) || 0), 2 ** 31 - 1);
  timers.set(id, { owner, at: Date.now() + delay, fn, args, repeat: repeat ? Math.max(1, delay) : undefined });
  host.wake(delay);
  return id;
}

function nextDelay(): number {
  let at = Infinity;
  for (const t of timers.values()) at = Math.min(at, t.at);
  return at === Infinity ? -1 : Math.max(0, at - Date.now());
}

/** Runs the earliest due timer, if any; returns ms until the next one, or -1. */
export function tick(): number {
  const now = Date.now();
  let due: [number, Timer] | undefined;
  for (const entry of timers) if (entry[1].at <= now && (!due || entry[1].at < due[1].at)) due = entry;
  if (due) {
    const [id, t] = due;
    if (t.repeat === undefined) timers.delete(id);
    else t.at = now + t.repeat;
    scope.current = t.owner;
    try {
      t.fn(...t.args);
    } catch (e) {
      t.owner.fail(e);
    }
  }
  return nextDelay();
}

let randomPool: Uint8Array = new Uint8Array(0);
let randomAt = 0;
function randomBytes(n: number): Uint8Array {
  if (randomAt + n > randomPool.length) {
    randomPool = host.random(Math.max(4096, n));
    randomAt = 0;
  }
  randomAt += n;
  return randomPool.slice(randomAt - n, randomAt);
}

const INTEGER_ARRAYS = [
  'Int8Array',
  'Uint8Array',
  'Uint8ClampedArray',
  'Int16Array',
  'Uint16Array',
  'Int32Array',
  'Uint32Array',
  'BigInt64Array',
  'BigUint64Array',
];

const crypto = {
  getRandomValues<T extends ArrayBufferView>(array: T): T {
    if (!ArrayBuffer.isView(array) || !INTEGER_ARRAYS.includes(array.constructor.name))
      throw new NimbusDOMException('getRandomValues needs an integer typed array', 'TypeMismatchError');
    if (array.byteLength > 65536)
      throw new NimbusDOMException(
        `getRandomValues: ${array.byteLength} bytes is over the 65536-byte limit`,
        'QuotaExceededError',
      );
    new Uint8Array(array.buffer, array.byteOffset, array.byteLength).set(randomBytes(array.byteLength));
    return array;
  },
  randomUUID(): string {
    const b = randomBytes(16);
    b[6] = ((b[6] as number) & 0x0f) | 0x40;
    b[8] = ((b[8] as number) & 0x3f) | 0x80;
    const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  },
};

async function fetchViaHost(input: unknown, init?: unknown): Promise<Response> {
  const owner = liveActivation();
  if (!owner) throw new TypeError('fetch() can only run while the function is handling a call');
  const request = new Request(input as string, init as RequestInit);
  const hasBody = request.method !== 'GET' && request.method !== 'HEAD';
  const body = hasBody ? new Uint8Array(await request.arrayBuffer()) : new Uint8Array(0);
  const headers: Record<string, string> = {};
  request.headers.forEach((v, k) => (headers[k] = v));
  const id = nextFetch++;
  const answer = new Promise<Response>((resolve, reject) => fetches.set(id, { owner, resolve, reject }));
  host.fetch?.(
    id,
    JSON.stringify({
      request: { method: request.method, url: request.url, headers, bodyBase64: bytesToBase64(body) },
      deadline: owner.deadline,
    }),
  );
  return answer;
}

interface Fetched {
  response?: {
    status: number;
    statusText: string;
    headers: [string, string][];
    bodyBase64: string;
    url: string;
    redirected: boolean;
  };
  error?: string;
}

/** The pool hands in what the host fetched. */
export function fetched(id: number, json: string): void {
  const pending = fetches.get(id);
  fetches.delete(id);
  if (!pending || pending.owner.ended) return;
  scope.current = pending.owner;
  const { response: r, error } = JSON.parse(json) as Fetched;
  if (!r) return pending.reject(new TypeError(`fetch failed: ${error ?? 'no response'}`));
  const nullBody = [204, 205, 304].includes(r.status);
  const response = new Response(nullBody ? null : base64ToBytes(r.bodyBase64), {
    status: r.status,
    statusText: r.statusText,
    headers: r.headers,
  });
  (Response as unknown as { describe(r: Response, url: string, redirected: boolean): void }).describe(
    response,
    r.url,
    r.redirected,
  );
  pending.resolve(response);
}

async function noNetwork(): Promise<never> {
  throw new TypeError(
    'fetch is not available: this function runs without network access (deploy it with network: true)',
  );
}

/** Drops what an answered call left behind: its timers never fire, its fetches never resolve. */
export function endActivation(a: Activation): void {
  a.ended = true;
  for (const [id, t] of timers) if (t.owner === a) timers.delete(id);
  for (const [id, f] of fetches) if (f.owner === a) fetches.delete(id);
}

export function installHostCalls(g: Record<string, unknown>, calls: HostCalls): void {
  host = calls;
  const clear = (id: unknown) => void timers.delete(Number(id));
  g.setTimeout = (fn: TimerFn, ms?: number, ...args: unknown[]) => schedule(fn, ms, args, false);
  g.setInterval = (fn: TimerFn, ms?: number, ...args: unknown[]) => schedule(fn, ms, args, true);
  g.clearTimeout = clear;
  g.clearInterval = clear;
  g.queueMicrotask = (fn: () => void) => {
    if (typeof fn !== 'function') throw new TypeError('The "callback" argument must be of type function');
    void Promise.resolve().then(() => {
      try {
        fn();
      } catch (e) {
        liveActivation()?.fail(e);
      }
    });
  };
  g.crypto = crypto;
  g.fetch = noNetwork;
}

/** Gives the function a real fetch (through the host): for network: true only, decided when it loads. */
export function enableFetch(g: Record<string, unknown>): void {
  if (host.fetch) g.fetch = fetchViaHost;
}
