// Inside the isolate: puts WebAssembly memories and resizable buffers on the
// function's memory budget (isolate-memory-budget.guest.ts). The global
// constructors are replaced by wrappers that charge what the new object may
// reach (its maximum, capped to what is left) and refuse it past the budget;
// modules are compiled from bytes whose own memories are capped; the real
// constructors stay in this closure (prototype.constructor points to the
// wrappers), so function code cannot reach around the charge.
import {
  charge,
  PAGE,
  refund,
  releaseWhenCollected,
  makeRoom,
  budgetPages,
  memoryRefused,
  moveHold,
} from './isolate-memory-budget.guest.ts';
import { limitModule } from './isolate-wasm-binary.guest.ts';

type Ctor = abstract new (...args: never[]) => object;
type AnyFn = (...args: unknown[]) => unknown;

// Taken while the runtime loads, before function code can replace them. Whatever a function does to
// the intrinsics these wrappers still use, the pool's RSS watchdog is the backstop (sandbox/isolate/watchdog.ts).
const { construct, apply } = Reflect;
const { min: mathMin, ceil, max: mathMax } = Math;

/** A wrapper that must be called with new, shares the real prototype, and builds through `make`. */
function wrapCtor<T extends Ctor>(real: T, name: string, make: (args: unknown[], target: Ctor) => object): T {
  const wrapper = function (this: unknown, ...args: unknown[]) {
    if (!new.target) throw new TypeError(`Constructor ${name} requires 'new'`);
    return make(args, (new.target as unknown) === (wrapper as unknown) ? real : (new.target as unknown as Ctor));
  } as unknown as T;
  Object.defineProperty(wrapper, 'name', { value: name });
  Object.defineProperty(wrapper, 'length', { value: real.length });
  Object.defineProperty(wrapper, 'prototype', { value: real.prototype, writable: false });
  Object.defineProperty(real.prototype, 'constructor', {
    value: wrapper,
    writable: true,
    configurable: true,
    enumerable: false,
  });
  for (const key of Reflect.ownKeys(real)) {
    if (key === 'prototype' || key === 'name' || key === 'length') continue;
    Object.defineProperty(wrapper, key, Object.getOwnPropertyDescriptor(real, key) as PropertyDescriptor);
  }
  return wrapper;
}

function copyBytes(source: unknown): Uint8Array {
  if (ArrayBuffer.isView(source)) return new Uint8Array(source.buffer, source.byteOffset, source.byteLength).slice();
  if (source instanceof ArrayBuffer || source instanceof SharedArrayBuffer) return new Uint8Array(source).slice();
  throw new TypeError('WebAssembly: the module bytes must be an ArrayBuffer or a typed array');
}

/**
 * Resizable ArrayBuffer and growable SharedArrayBuffer reserve their maximum: charged when made. A
 * resizable buffer's transfer() moves the reservation into a new buffer, and the charge moves with it.
 */
function limitBuffers(g: Record<string, unknown>): void {
  const holds = new WeakMap<object, number>();
  const holdOf = Function.prototype.call.bind(WeakMap.prototype.get) as (
    m: typeof holds,
    k: object,
  ) => number | undefined;
  const setHold = Function.prototype.call.bind(WeakMap.prototype.set) as (
    m: typeof holds,
    k: object,
    v: number,
  ) => void;
  const proto = ArrayBuffer.prototype as unknown as Record<string, AnyFn>;
  for (const method of ['transfer', 'transferToFixedLength'] as const) {
    const real = proto[method];
    if (typeof real !== 'function') continue;
    Object.defineProperty(proto, method, {
      value: function (this: object, ...args: unknown[]) {
        const id = holdOf(holds, this);
        const moved = apply(real, this, args) as object;
        if (id !== undefined) {
          moveHold(id, moved);
          setHold(holds, moved, id);
        }
        return moved;
      },
      writable: true,
      configurable: true,
      enumerable: false,
    });
    Object.defineProperty(proto[method], 'name', { value: method });
  }
  for (const name of ['ArrayBuffer', 'SharedArrayBuffer'] as const) {
    const real = g[name] as unknown as Ctor;
    if (!real) continue;
    g[name] = wrapCtor(real, name, (args, target) => {
      const options = args[1] as { maxByteLength?: unknown } | undefined;
      const max = options !== null && typeof options === 'object' ? options.maxByteLength : undefined;
      if (max === undefined) return construct(real, args, target);
      const bytes = Number(max);
      const pages = ceil((Number.isFinite(bytes) ? mathMax(0, bytes) : Infinity) / PAGE);
      charge(pages, `a ${name} with maxByteLength`);
      try {
        const made = construct(real, [args[0], { maxByteLength: max }], target);
        setHold(holds, made, releaseWhenCollected(made, pages));
        return made;
      } catch (e) {
        refund(pages);
        throw e;
      }
    });
  }
}

export function installMemoryLimits(g: Record<string, unknown>): void {
  limitBuffers(g);
  const W = g.WebAssembly as typeof WebAssembly | undefined;
  if (!W) return;
  const { Memory: RealMemory, Module: RealModule, Instance: RealInstance } = W;
  const realInstantiate = W.instantiate as AnyFn;
  const bufferOf = (Object.getOwnPropertyDescriptor(RealMemory.prototype, 'buffer') as PropertyDescriptor).get as (
    this: WebAssembly.Memory,
  ) => ArrayBufferLike;
  const realGrow = RealMemory.prototype.grow;
  const caps = new WeakMap<object, number>();
  const declared = new WeakMap<object, { pages: number; onlyCap: number | undefined }>();
  const keep = new WeakMap<object, object>();

  const Memory = wrapCtor(RealMemory, 'Memory', (args, target) => {
    const d = (args[0] ?? {}) as Record<string, unknown>;
    const initial = d.initial;
    const maximum = d.maximum;
    const big = typeof initial === 'bigint';
    const min = Number(initial);
    if (!Number.isFinite(min) || min < 0) return construct(RealMemory, args, target);
    // A memory may reach its maximum unseen (the memory.grow instruction): room for all of it, a GC first if garbage holds it.
    const want = mathMin(maximum === undefined ? budgetPages() : Number(maximum), budgetPages());
    const room = makeRoom(mathMax(min, Number.isFinite(want) ? want : 0));
    const cap = mathMin(maximum === undefined ? Infinity : Number(maximum), room, big ? Infinity : 65536);
    if (min > room) throw memoryRefused(min, 'a WebAssembly.Memory');
    const desc: Record<string, unknown> = {
      initial,
      maximum: big ? BigInt(mathMax(cap, 0)) : cap,
      shared: Boolean(d.shared),
    };
    if (d.index !== undefined) desc.index = d.index;
    if (d.address !== undefined) desc.address = d.address;
    const made = construct(RealMemory, [desc], target);
    charge(cap, 'a WebAssembly.Memory');
    caps.set(made, cap);
    releaseWhenCollected(made, cap);
    return made;
  });
  Object.defineProperty(RealMemory.prototype, 'grow', {
    value: function grow(this: WebAssembly.Memory, delta: number) {
      const cap = caps.get(this);
      const want = bufferOf.call(this).byteLength / PAGE + Number(delta);
      if (cap !== undefined && want > cap) throw memoryRefused(want, 'growing a WebAssembly.Memory to');
      return realGrow.call(this, delta);
    },
    writable: true,
    configurable: true,
    enumerable: false,
  });

  const compileSync = (source: unknown, target: Ctor) => {
    const limited = limitModule(copyBytes(source), budgetPages());
    const module = construct(RealModule, [limited.bytes], target);
    declared.set(module, { pages: limited.pages, onlyCap: limited.onlyCap });
    return module;
  };
  /** Charges an instance's own memories; the charge lasts while the instance or a memory it exported lives. */
  const instantiated = (module: object, make: () => WebAssembly.Instance, precharged = false): WebAssembly.Instance => {
    const d = declared.get(module) ?? { pages: 0, onlyCap: undefined };
    if (!precharged) charge(d.pages, 'the memory this WebAssembly module defines');
    let instance: WebAssembly.Instance;
    try {
      instance = make();
    } catch (e) {
      refund(d.pages);
      throw e;
    }
    const token = {};
    releaseWhenCollected(token, d.pages);
    keep.set(instance, token);
    for (const value of Object.values(instance.exports)) {
      if (!(value instanceof RealMemory) || caps.has(value)) continue;
      keep.set(value, token);
      if (d.onlyCap !== undefined) caps.set(value, d.onlyCap);
    }
    return instance;
  };
  const Module = wrapCtor(RealModule, 'Module', (args, target) => compileSync(args[0], target));
  const Instance = wrapCtor(RealInstance, 'Instance', (args, target) =>
    instantiated(args[0] as object, () => construct(RealInstance, args, target) as WebAssembly.Instance),
  );
  const compile = async (source: unknown) => compileSync(source, RealModule);
  const instantiate = async (source: unknown, imports?: unknown): Promise<unknown> => {
    if (!(source instanceof RealModule)) {
      const module = await compile(source);
      return { module, instance: await instantiate(module, imports) };
    }
    const pages = declared.get(source)?.pages ?? 0;
    charge(pages, 'the memory this WebAssembly module defines');
    let instance: WebAssembly.Instance;
    try {
      instance = (await apply(realInstantiate, W, [source, imports])) as WebAssembly.Instance;
    } catch (e) {
      refund(pages);
      throw e;
    }
    return instantiated(source, () => instance, true);
  };
  const define = (name: string, value: unknown) =>
    Object.defineProperty(W, name, { value, writable: true, configurable: true, enumerable: false });
  define('Memory', Memory);
  define('Module', Module);
  define('Instance', Instance);
  define('compile', compile);
  define('instantiate', instantiate);
  // Streaming compiles take a Response the isolate's fetch does not make, and would skip the caps.
  for (const name of ['compileStreaming', 'instantiateStreaming'])
    delete (W as unknown as Record<string, unknown>)[name];
}
