// Inside the isolate: caps the memories a WebAssembly module defines. The
// `memory.grow` instruction grows a module's own memory without any call the
// runtime could see, so the module's bytes are rewritten before V8 compiles
// them: every defined memory gets a maximum no larger than the function's
// budget, and a memory whose initial size is already over it is refused.
import { memoryRefused } from './isolate-memory-budget.guest.ts';

// Taken while the runtime loads, before function code can replace them (the watchdog is the backstop).
const U8 = Uint8Array;
const { min: mathMin, floor } = Math;
const CompileError = WebAssembly.CompileError;

/** Pages of 64 KiB a 32-bit memory can have at most. */
const MAX_PAGES_32 = 65536;

function readLeb(bytes: Uint8Array, at: number): [number, number] {
  let value = 0;
  let scale = 1;
  for (let pos = at; pos < bytes.length && pos < at + 10; pos++) {
    const b = bytes[pos] as number;
    value += (b & 0x7f) * scale;
    scale *= 128;
    if (!(b & 0x80)) return [value, pos + 1];
  }
  throw new CompileError('WebAssembly module: malformed LEB128 number');
}

/** Writes `n` as unsigned LEB128 at `at` (typed-array writes only: nothing a function can intercept); returns the next position. */
function writeLeb(out: Uint8Array, at: number, n: number): number {
  do {
    let b = n % 128;
    n = floor(n / 128);
    if (n > 0) b |= 0x80;
    out[at++] = b;
  } while (n > 0);
  return at;
}

function copyInto(to: Uint8Array, at: number, from: Uint8Array, start: number, end: number): void {
  for (let i = start; i < end; i++) to[at + i - start] = from[i] as number;
}

export interface LimitedModule {
  bytes: Uint8Array;
  /** Pages each instance may reach in its own memories (the sum of their new maximums). */
  pages: number;
  /** The maximum of the module's one defined memory, when it defines exactly one. */
  onlyCap: number | undefined;
}

/** The module with every defined memory capped at `budgetPages`; bytes that are not a module pass through for V8 to reject. */
export function limitModule(bytes: Uint8Array, budgetPages: number): LimitedModule {
  const plain = { bytes, pages: 0, onlyCap: undefined };
  const magic = [0x00, 0x61, 0x73, 0x6d];
  if (bytes.length < 8 || magic.some((b, i) => bytes[i] !== b)) return plain;
  for (let pos = 8; pos < bytes.length;) {
    const id = bytes[pos] as number;
    const [size, start] = readLeb(bytes, pos + 1);
    const end = start + size;
    if (end > bytes.length) throw new CompileError('WebAssembly module: a section runs past the end');
    if (id === 5) return rewrite(bytes, pos, start, end, budgetPages);
    pos = end;
  }
  return plain;
}

function rewrite(bytes: Uint8Array, sectionAt: number, start: number, end: number, budgetPages: number): LimitedModule {
  let [count, pos] = readLeb(bytes, start);
  const entries = new U8(10 + count * 25);
  let n = writeLeb(entries, 0, count);
  let pages = 0;
  let lastCap = 0;
  for (let i = 0; i < count; i++) {
    let flags: number, min: number, max: number | undefined;
    [flags, pos] = readLeb(bytes, pos);
    // 1: has maximum, 2: shared, 4: 64-bit; anything else (custom page sizes) is not accepted.
    if (flags & ~0x7)
      throw new CompileError(`WebAssembly module: memory flags ${flags} are not supported in the isolate engine`);
    [min, pos] = readLeb(bytes, pos);
    if (flags & 1) [max, pos] = readLeb(bytes, pos);
    if (min > budgetPages) throw memoryRefused(min, 'the memory this WebAssembly module defines');
    const cap = mathMin(max ?? Infinity, budgetPages, flags & 4 ? Infinity : MAX_PAGES_32);
    if (cap < min) throw new CompileError('WebAssembly module: a memory maximum is below its minimum');
    n = writeLeb(entries, writeLeb(entries, writeLeb(entries, n, flags | 1), min), cap);
    pages += cap;
    lastCap = cap;
  }
  if (pos !== end) throw new CompileError('WebAssembly module: malformed memory section');
  const head = new U8(11);
  head[0] = 5;
  const headLength = writeLeb(head, 1, n);
  const result = new U8(sectionAt + headLength + n + (bytes.length - end));
  copyInto(result, 0, bytes, 0, sectionAt);
  copyInto(result, sectionAt, head, 0, headLength);
  copyInto(result, sectionAt + headLength, entries, 0, n);
  copyInto(result, sectionAt + headLength + n, bytes, end, bytes.length);
  return { bytes: result, pages, onlyCap: count === 1 ? lastCap : undefined };
}
