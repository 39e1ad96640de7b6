// The isolate's hand-written structuredClone and DOMException against Node's
// on the same values, in a real isolate: what is copied, what is shared
// (cycles, one buffer under two views), what is lost and what is refused.
import { after, describe, it } from 'node:test';
import { openRealms } from './web-realm.ts';

const realms = await openRealms(after);

/** Describes a clone in JSON: its type, own keys and values, recursively (depth-limited). */
const DESCRIBE = `(v, depth = 0) => { const d = (x, n) => { if (n > 4) return '…';
  if (typeof x === 'bigint') return ['bigint', String(x)]; if (typeof x === 'number') return Object.is(x, -0) ? '-0' : Number.isNaN(x) ? 'NaN' : x;
  if (typeof x !== 'object' || x === null) return x === undefined ? ['undefined'] : x;
  const tag = Object.prototype.toString.call(x); const proto = Object.getPrototypeOf(x); const ctor = proto && proto.constructor ? proto.constructor.name : null;
  if (x instanceof Date) return [tag, x.getTime()]; if (x instanceof RegExp) return [tag, x.source, x.flags, x.lastIndex];
  if (x instanceof Map) return [tag, [...x].map(([k, w]) => [d(k, n + 1), d(w, n + 1)])]; if (x instanceof Set) return [tag, [...x].map((w) => d(w, n + 1))];
  if (ArrayBuffer.isView(x)) return [tag, ctor, x.byteOffset, x.byteLength, Array.from(new Uint8Array(x.buffer, x.byteOffset, x.byteLength))];
  if (x instanceof ArrayBuffer) return [tag, x.byteLength, Array.from(new Uint8Array(x))];
  if (x instanceof Error) return [tag, ctor, x.name, x.message, 'cause' in x ? d(x.cause, n + 1) : 'no cause', Object.keys(x)];
  return [tag, ctor, Array.isArray(x) ? x.length : null, Reflect.ownKeys(x).map(String), Object.keys(x).map((k) => d(x[k], n + 1))]; };
  return d(v, depth); }`;

describe('isolate structuredClone and DOMException agree with Node', () => {
  it('clones values of every supported kind, and loses what the algorithm loses', async () => {
    const MAKERS = [
      `1`,
      `-0`,
      `NaN`,
      `'s'`,
      `null`,
      `undefined`,
      `10n`,
      `true`,
      `[1, , 3]`,
      `Object.assign([1, 2], { extra: 'x' })`,
      `{ a: 1, b: { c: [2] }, u: undefined }`,
      `new Date(86400000)`,
      `new Date(NaN)`,
      `Object.assign(/a+b/gi, { lastIndex: 3 })`,
      `new Map([[{ k: 1 }, new Set([1, 'x'])]])`,
      `new Set([NaN, -0])`,
      `new Uint8Array([1, 2, 3])`,
      `new Float64Array([0.5, -1])`,
      `new BigInt64Array([-1n])`,
      `new DataView(new Uint8Array([1, 2, 3, 4]).buffer, 1, 2)`,
      `new Uint16Array(new Uint8Array([1, 2, 3, 4, 5, 6]).buffer, 2, 2)`,
      `new Uint8Array([1, 2, 3]).buffer`,
      `new Number(3)`,
      `new String('boxed')`,
      `new Boolean(false)`,
      `Object(5n)`,
      `new TypeError('t')`,
      `new RangeError('r', { cause: 'why' })`,
      `Object.assign(new Error('e'), { extra: 1 })`,
      `new (class Custom extends Error {})('c')`,
      `(() => { const e = new Error('named'); e.name = 'SyntaxError'; return e; })()`,
      `new (class Point { constructor() { this.x = 1; } })()`,
      `Object.defineProperty({ a: 1 }, 'hidden', { value: 2, enumerable: false })`,
      `{ get g() { return 'got'; } }`,
      `{ [Symbol('s')]: 1, k: 2 }`,
      `Object.create(null)`,
    ];
    await realms.agree(`(src) => (${DESCRIBE})(structuredClone((0, eval)('(' + src + ')')))`, MAKERS);
  });

  it('keeps cycles and shared buffers shared, and copies rather than aliases', async () => {
    await realms.agree(
      `() => { const o = { n: 1 }; o.self = o; const arr = [o, o]; const buf = new ArrayBuffer(4); const views = [new Uint8Array(buf), new Uint16Array(buf, 2, 1)];
      const c = structuredClone({ arr, views, m: new Map([[o, o]]) }); c.views[0][2] = 9;
      return [c.arr[0] === c.arr[1], c.arr[0].self === c.arr[0], c.arr[0] !== o, c.views[0].buffer === c.views[1].buffer, c.views[1][0], views[1][0], [...c.m][0][0] === c.arr[0]]; }`,
      [null],
    );
  });

  it('refuses what cannot be cloned with a DataCloneError', async () => {
    const BAD = [
      `() => 1`,
      `Symbol('x')`,
      `{ f() {} }`,
      `[Symbol.iterator]`,
      `new WeakMap()`,
      `new WeakSet()`,
      `Promise.resolve(1)`,
      `new Map([[1, () => 2]])`,
      `{ get g() { throw new RangeError('in getter'); } }`,
    ];
    await realms.agree(
      `(src) => { try { structuredClone((0, eval)('(' + src + ')')); return 'cloned'; } catch (e) { return [e.name, e instanceof DOMException, e.code]; } }`,
      BAD,
    );
    await realms.agree(
      `(kind) => { try { structuredClone(1, kind === 'empty' ? { transfer: [] } : undefined); return structuredClone(); } catch (e) { return [e.name, e.constructor.name]; } }`,
      ['empty', 'none'],
    );
  });

  it('DOMException: names, codes, message, shape', async () => {
    const NAMES = [
      ['m', 'InvalidCharacterError'],
      ['m', 'DataCloneError'],
      ['m', 'AbortError'],
      ['m', 'TimeoutError'],
      ['m', 'NotSupportedError'],
      ['', 'Custom'],
      ['only message'],
      [],
    ];
    await realms.agree(
      `(args) => { const e = new DOMException(...args); return [e.name, e.message, e.code, e instanceof Error, Object.prototype.toString.call(e), String(e), DOMException.name, typeof DOMException.INVALID_CHARACTER_ERR, DOMException.DATA_CLONE_ERR, e.INDEX_SIZE_ERR]; }`,
      NAMES,
    );
  });
});
