// How a microVM's memory is split between the guest kernel, Node and V8's old
// space. Kept apart from the driver so that deploy validation can read the
// engine's minimum without loading QEMU's machinery.

/**
 * Below this a Debian kernel plus Node 24 does not fit: at 128 MB the guest
 * (77 MB MemTotal) thrashes on Node's code pages instead of running out of
 * memory, so a function over its memory hangs until its timeout.
 */
export const MIN_MEMORY_MB = 160;

/**
 * Guest memory that is not V8's old space: Debian's generic kernel (~50 MB
 * reserved, ~25 MB of slab), Node's code in the page cache, its native heap
 * and V8's young generation. Measured with Node 24: at 160 MB and 116 MB of
 * headroom the guest kernel's OOM killer came before V8's limit; at 136 MB of
 * headroom V8 stops first.
 */
const HEAP_HEADROOM_MB = 136;

/** V8's old-space limit for a guest of `memoryMb`: low enough that V8 fails before the guest kernel runs out. */
export function heapLimitMb(memoryMb: number): number {
  return Math.max(12, memoryMb - HEAP_HEADROOM_MB);
}
