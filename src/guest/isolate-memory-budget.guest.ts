// Inside the isolate: the function's budget for memory that V8's heap limit
// does not count (isolated-vm 7 counts the heap, ArrayBuffers and
// SharedArrayBuffers, but not WebAssembly memories nor resizable and growable
// buffers, which reserve their maximum and grow without V8 allocating).
// Reservations are charged at their maximum and held by weak references: one
// whose object was collected is given back. FinalizationRegistry callbacks
// never run in an isolated-vm isolate, so before refusing, the budget runs a
// full GC (the pool's --expose-gc, taken out of the global scope before any
// function code runs) and counts again what still lives.

/** Every refusal starts with this, so the pool can tell it from a function's own errors (memory_exhausted). */
export const MEMORY_REFUSED = 'nimbus: memory refused';
export const PAGE = 65536;

// Taken while the runtime loads, before function code can replace them (the pool's RSS watchdog is the backstop).
const WeakRefCtor = WeakRef;
const deref = Function.prototype.call.bind(WeakRef.prototype.deref) as (ref: WeakRef<object>) => object | undefined;
const held = new Map<number, { ref: WeakRef<object>; pages: number }>();
const mapSet = Function.prototype.call.bind(Map.prototype.set) as (
  m: typeof held,
  k: number,
  v: { ref: WeakRef<object>; pages: number },
) => void;
const mapDelete = Function.prototype.call.bind(Map.prototype.delete) as (m: typeof held, k: number) => boolean;
const mapEntries = Function.prototype.call.bind(Map.prototype.entries) as (
  m: typeof held,
) => IterableIterator<[number, { ref: WeakRef<object>; pages: number }]>;
const iteratorNext = Function.prototype.call.bind(Object.getPrototypeOf(new Map().entries()).next) as (
  it: IterableIterator<unknown>,
) => IteratorResult<[number, { ref: WeakRef<object>; pages: number }]>;

const budget = { pages: 0, memoryMb: 0, used: 0, nextId: 0 };
let collect: (() => void) | undefined;

/** Takes the pool's `gc` out of reach of function code (called while the runtime loads). */
export function takeCollector(g: Record<string, unknown>): void {
  const gc = g.gc;
  // V8 defines it like a global var: it cannot be deleted, only overwritten (the name stays, undefined).
  if (!Reflect.deleteProperty(g, 'gc')) g.gc = undefined;
  if (typeof gc === 'function') collect = gc as () => void;
}

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

/** Gives back what collected objects held. */
function sweep(): void {
  const it = mapEntries(held);
  for (let step = iteratorNext(it); !step.done; step = iteratorNext(it)) {
    const [id, entry] = step.value;
    if (deref(entry.ref) !== undefined) continue;
    mapDelete(held, id);
    budget.used = Math.max(0, budget.used - entry.pages);
  }
}

/** Makes room for `pages` when garbage holds it: a full GC, then a count of what still lives. */
export function makeRoom(pages: number): number {
  if (pages > roomPages() && held.size > 0) {
    collect?.();
    sweep();
  }
  return roomPages();
}

const mb = (pages: number) => Math.ceil((pages * PAGE) / (1024 * 1024));

export function memoryRefused(pages: number, what: string): RangeError {
  return new RangeError(
    `${MEMORY_REFUSED}: ${what} of ${mb(pages)} MB is over the function's memory limit (memoryMb ${budget.memoryMb}, of which ${mb(roomPages())} MB is left for WebAssembly memory and resizable buffers)`,
  );
}

/** Charges `pages`, refused past the budget (after a GC has had its chance). */
export function charge(pages: number, what: string): void {
  if (pages > makeRoom(pages)) throw memoryRefused(pages, what);
  budget.used += pages;
}

export function refund(pages: number): void {
  budget.used = Math.max(0, budget.used - pages);
}

const mapGet = Function.prototype.call.bind(Map.prototype.get) as (
  m: typeof held,
  k: number,
) => { ref: WeakRef<object>; pages: number } | undefined;

/** The charge of `pages` lasts while `holder` lives; returns the hold's id (for moveHold). */
export function releaseWhenCollected(holder: object, pages: number): number {
  const id = budget.nextId++;
  if (pages > 0) mapSet(held, id, { ref: new WeakRefCtor(holder), pages });
  return id;
}

/** The reservation now lives in another object (a resizable buffer's transfer()). */
export function moveHold(id: number, holder: object): void {
  const entry = mapGet(held, id);
  if (entry) entry.ref = new WeakRefCtor(holder);
}
