// Fresh randomness for a guest started from a snapshot. Every VM restored
// from one saved state begins with the same memory: V8's Math.random state,
// Node's cached random bytes (randomUUID keeps a batch) and OpenSSL's DRBGs,
// and the guest kernel's CRNG. The host sends new entropy with each restore
// (prepare). In order: the kernel gets it and reseeds its CRNG (the static
// helper NIMBUS_GUEST_RESEED, src/guest/reseed-crng.c: writing /dev/urandom
// alone only mixes the input pool); then OpenSSL's primary DRBG is made to
// reseed from that fresh kernel (a draw with the clock set back, see
// reseedOpenssl), which makes every per-thread DRBG reseed on its next draw;
// then Math.random is replaced by a generator seeded from the entropy and
// node:crypto's random functions are XORed with a ChaCha20 stream keyed from
// it (node keeps caches of bytes drawn before the snapshot). What it cannot
// reach: randomness the function drew during init (module-level values,
// SnapStart's caveat). test/security/microvm-snapshot-entropy.test.ts.
import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';

let keystream: crypto.Cipheriv | undefined;
let installed = false;

function mask(bytes: Uint8Array): void {
  if (!keystream || bytes.byteLength === 0) return;
  const ks = keystream.update(Buffer.alloc(bytes.byteLength));
  for (let i = 0; i < bytes.byteLength; i++) bytes[i] = (bytes[i] ?? 0) ^ (ks[i] ?? 0);
}

function viewOf(buf: NodeJS.ArrayBufferView | ArrayBuffer, offset = 0, size?: number): Uint8Array {
  if (buf instanceof ArrayBuffer) return new Uint8Array(buf, offset, size ?? buf.byteLength - offset);
  return new Uint8Array(buf.buffer, buf.byteOffset + offset, size ?? buf.byteLength - offset);
}

/** xorshift128+ (V8's own Math.random algorithm), seeded from `seed`. */
function seededRandom(seed: Buffer): () => number {
  let s0 = seed.readBigUInt64LE(0) | 1n;
  let s1 = seed.readBigUInt64LE(8) | 2n;
  const M = (1n << 64n) - 1n;
  return () => {
    let x = s0;
    const y = s1;
    s0 = y;
    x = (x ^ (x << 23n)) & M;
    x ^= x >> 17n;
    x ^= y ^ (y >> 26n);
    s1 = x;
    return Number(((s0 + s1) & M) >> 11n) / 2 ** 53;
  };
}

/** Some of node:crypto's exports are getters: each is replaced by a plain value where it can be (not where it is fixed). */
function replace(target: object, name: string, value: unknown): void {
  try {
    Object.defineProperty(target, name, { value, writable: true, configurable: true, enumerable: true });
  } catch {
    // non-configurable (node:crypto's getRandomValues): it forwards to webcrypto's, which is replaced
  }
}

function install(): void {
  installed = true;
  const c = crypto as unknown as Record<string, unknown>;
  const randomBytes = crypto.randomBytes;
  const randomFillSync = crypto.randomFillSync;
  const randomFill = crypto.randomFill;
  replace(c, 'randomBytes', (size: number, cb?: (e: Error | null, b: Buffer) => void) => {
    if (!cb) {
      const b = randomBytes(size);
      mask(b);
      return b;
    }
    randomBytes(size, (e, b) => {
      if (!e) mask(b);
      cb(e, b);
    });
  });
  replace(
    c,
    'randomFillSync',
    <T extends NodeJS.ArrayBufferView | ArrayBuffer>(buf: T, offset?: number, size?: number): T => {
      randomFillSync(buf as NodeJS.ArrayBufferView, offset, size);
      mask(viewOf(buf, offset, size));
      return buf;
    },
  );
  replace(c, 'randomFill', (buf: NodeJS.ArrayBufferView, ...rest: unknown[]) => {
    const cb = rest.pop() as (e: Error | null, b: unknown) => void;
    const [offset, size] = rest as [number | undefined, number | undefined];
    (randomFill as (...a: unknown[]) => void)(buf, ...rest, (e: Error | null, b: unknown) => {
      if (!e) mask(viewOf(buf, offset, size));
      cb(e, b);
    });
  });
  const web = crypto.webcrypto as unknown as { getRandomValues: <T extends ArrayBufferView>(a: T) => T };
  const getRandomValues = web.getRandomValues.bind(web);
  const patchedValues = <T extends ArrayBufferView>(a: T): T => {
    getRandomValues(a);
    mask(viewOf(a as unknown as NodeJS.ArrayBufferView));
    return a;
  };
  replace(web, 'getRandomValues', patchedValues);
  replace(c, 'getRandomValues', patchedValues);
  const randomUUID = () => {
    const b = (c.randomBytes as (n: number) => Buffer)(16);
    b[6] = ((b[6] ?? 0) & 0x0f) | 0x40;
    b[8] = ((b[8] ?? 0) & 0x3f) | 0x80;
    const h = b.toString('hex');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  };
  replace(c, 'randomUUID', randomUUID);
  replace(web, 'randomUUID', randomUUID);
  replace(c, 'randomInt', randomInt(c.randomBytes as (n: number) => Buffer));
}

/** crypto.randomInt over the masked randomBytes (node's own keeps a cache of bytes drawn before the snapshot). */
function randomInt(randomBytes: (n: number) => Buffer) {
  const draw = (min: number, max: number): number => {
    if (!Number.isSafeInteger(min) || !Number.isSafeInteger(max) || max <= min || max - min > 2 ** 48)
      throw new RangeError(`randomInt: need safe integers min < max, max - min <= 2^48 (got ${min}, ${max})`);
    const range = max - min;
    const limit = 2 ** 48 - (2 ** 48 % range);
    for (;;) {
      const x = randomBytes(6).readUIntBE(0, 6);
      if (x < limit) return min + (x % range);
    }
  };
  return (
    a: number,
    b?: number | ((e: Error | null, n?: number) => void),
    cb?: (e: Error | null, n?: number) => void,
  ) => {
    const callback = typeof b === 'function' ? b : cb;
    const [min, max] = typeof b === 'number' ? [a, b] : [0, a];
    if (!callback) return draw(min, max);
    const n = draw(min, max); // node throws argument errors synchronously too
    process.nextTick(() => callback(null, n));
    return undefined;
  };
}

/**
 * Gives `entropy` to the kernel and makes its CRNG reseed (true), or only
 * mixes it into the pool (false: an agent running as a host process, tests).
 */
export function reseedKernel(entropy: Buffer): boolean {
  const helper = process.env.NIMBUS_GUEST_RESEED;
  if (helper) {
    execFileSync(helper, [], { input: entropy, stdio: ['pipe', 'ignore', 'pipe'], timeout: 5000 });
    return true;
  }
  try {
    writeFileSync('/dev/urandom', entropy);
  } catch {
    // a host process may not write there: the rest still applies
  }
  return false;
}

/**
 * Makes OpenSSL's primary DRBG reseed from the (fresh) kernel. OpenSSL 3
 * reseeds a DRBG on a draw when time(NULL) is before its last reseed time
 * or an interval (an hour for the primary) past it (drbg.c, reseed_time); a
 * child DRBG (public, private, every thread's) reseeds whenever its parent's
 * reseed counter moved. So: clock back to 2001, draw from the public and the
 * private DRBG (which pull from the primary); the caller then sets the clock
 * to the host's time. A snapshot's DRBGs last reseeded at the template's
 * boot or after a restore: by the host's clock either way (the VM has an RTC
 * and each restore sets the clock), long after 2001. Setting the clock
 * forward alone does not do it (tried: the same keys in two restores). Not
 * 1970: Linux refuses a wall clock earlier than the time since boot.
 */
function reseedOpenssl(clockTool: string): void {
  execFileSync(clockTool, ['-u', '-s', '@1000000000'], { stdio: 'ignore', timeout: 5000 });
  crypto.randomBytes(1);
  crypto.generateKeyPairSync('x25519');
}

/**
 * Reseeds the guest's random sources from `entropy` (32+ bytes from the host).
 * With a clock tool, OpenSSL is reseeded too and the clock is left in 2001:
 * the caller must set it right after.
 */
export function reseed(entropy: Buffer, clockTool?: string): void {
  if (reseedKernel(entropy) && clockTool) reseedOpenssl(clockTool);
  const key = crypto.createHash('sha256').update(entropy).update(crypto.randomBytes(32)).digest();
  keystream = crypto.createCipheriv('chacha20', key, crypto.createHash('sha256').update(key).digest().subarray(0, 16));
  Math.random = seededRandom(crypto.createHash('sha256').update('math.random').update(key).digest());
  if (!installed) install();
}
