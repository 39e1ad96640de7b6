// Inside the isolate: the function's budget for memory that V8's heap limit
// does not count (isolated-vm 7 counts the heap, ArrayBuffers and
// SharedArrayBuffers, but not WebAssembly memories nor resizable and growable
// buffers, which reserve their maximum and grow without V8 allocating).
// Reservations are charged at their maximum and given back when collected.

/** Every refusal starts with this, so the pool can tell it from a function's own errors (memory_exhausted). */
export const MEMORY_REFUSED = 'nimbus: memory refused';
export const PAGE = 65536;

const budget = { pages: 0, memoryMb: 0, used: 0 };
const registry = new FinalizationRegistry<number>((pages) => {
  budget.used = Math.max(0, budget.used - pages);
});

/** Set once, when the function loads (before that only the trusted runtime runs, and it needs none). */
export function setMemoryBudget(memoryMb: number): void {
  budget.memoryMb = memoryMb;
  budget.pages = Math.floor((memoryMb * 1024 * 1024) / PAGE);
}

export function budgetPages(): number {
  return budget.pages;
}

export function roomPages(): number {
  return Math.max(0, budget.pages - budget.used);
}

const mb = (pages: number) => Math.ceil((pages * PAGE) / (1024 * 1024));

export function memoryRefused(pages: number, what: string): RangeError {
  return new RangeError(
    `${MEMORY_REFUSED}: ${what} of ${mb(pages)} MB is over the function's memory limit (memoryMb ${budget.memoryMb}, of which ${mb(roomPages())} MB is left for WebAssembly memory and resizable buffers); raise memoryMb or use less memory`,
  );
}

/** Charges `pages`, refused past the budget. */
export function charge(pages: number, what: string): void {
  if (pages > roomPages()) throw memoryRefused(pages, what);
  budget.used += pages;
}

export function refund(pages: number): void {
  budget.used = Math.max(0, budget.used - pages);
}

export function releaseWhenCollected(holder: object, pages: number): void {
  if (pages > 0) registry.register(holder, pages);
}
