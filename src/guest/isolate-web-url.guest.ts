// URL and URLSearchParams for the isolate runtime (a bare V8 isolate has
// neither): core-js's WHATWG implementation (IDNA included), which needs no
// Node or browser API. Two things are added around it. Its internal state
// lives in a global store, taken off the global object as soon as core-js is
// loaded, so function code cannot reach (or replace) the state behind its
// URLs. And URLSearchParams takes USVStrings, as in Node and browsers: lone
// surrogates become U+FFFD before core-js sees them (core-js keeps them).
import CoreURL from 'core-js-pure/web/url.js';
import CoreURLSearchParams from 'core-js-pure/web/url-search-params.js';

/** The global core-js shares between its copies; ours keeps a reference in its own closures. */
const CORE_JS_STORE = '__core-js_shared__';
Reflect.deleteProperty(globalThis, CORE_JS_STORE);

// Taken while the runtime loads, before function code can replace them.
// (String.prototype.toWellFormed is ES2024, in V8 since 12; the project's TypeScript lib is ES2022.)
const wellFormed = Function.prototype.call.bind(
  (String.prototype as unknown as { toWellFormed: () => string }).toWellFormed,
) as (s: string) => string;
const { construct, apply, ownKeys } = Reflect;
const isArray = Array.isArray;
const arrayFrom = Array.from;
const iterator = Symbol.iterator;

const usv = (v: unknown): unknown => (typeof v === 'string' ? wellFormed(v) : v);

/** The constructor's init as USVStrings: a string, a sequence of pairs, or a record (its own enumerable keys). */
function usvInit(init: unknown): unknown {
  if (typeof init === 'string') return wellFormed(init);
  if (typeof init !== 'object' || init === null || init instanceof CoreURLSearchParams) return init;
  const source = init as Record<PropertyKey, unknown>;
  if (typeof source[iterator] === 'function') {
    return arrayFrom(init as Iterable<unknown>, (pair) =>
      typeof pair === 'object' &&
      pair !== null &&
      typeof (pair as Record<PropertyKey, unknown>)[iterator] === 'function'
        ? arrayFrom(pair as Iterable<unknown>, usv)
        : pair,
    );
  }
  const record: Record<string, unknown> = {};
  for (const key of ownKeys(source)) {
    if (typeof key === 'string' && Object.prototype.propertyIsEnumerable.call(source, key))
      record[wellFormed(key)] = usv(source[key]);
  }
  return record;
}

const Params: typeof URLSearchParams = function URLSearchParams(this: unknown, init?: unknown): URLSearchParams {
  if (!new.target) throw new TypeError("Constructor URLSearchParams requires 'new'");
  const target = (new.target as unknown) === Params ? CoreURLSearchParams : (new.target as typeof URLSearchParams);
  return construct(CoreURLSearchParams, arguments.length ? [usvInit(init)] : [], target) as URLSearchParams;
} as unknown as typeof URLSearchParams;
Object.defineProperty(Params, 'name', { value: 'URLSearchParams' });
Object.defineProperty(Params, 'length', { value: 0 });
// One class, whichever constructor made it: a URL's searchParams is an instance of the global URLSearchParams.
Object.defineProperty(Params, 'prototype', { value: CoreURLSearchParams.prototype, writable: false });
Object.defineProperty(CoreURLSearchParams.prototype, 'constructor', {
  value: Params,
  writable: true,
  configurable: true,
  enumerable: false,
});
const proto = CoreURLSearchParams.prototype as unknown as Record<string, (...args: unknown[]) => unknown>;
for (const method of ['append', 'delete', 'get', 'getAll', 'has', 'set'] as const) {
  const real = proto[method] as (...args: unknown[]) => unknown;
  const wrapped = {
    [method](this: unknown, ...args: unknown[]) {
      return apply(real, this, isArray(args) ? args.map(usv) : args);
    },
  }[method] as (...args: unknown[]) => unknown;
  Object.defineProperty(wrapped, 'length', { value: real.length });
  Object.defineProperty(proto, method, { value: wrapped, writable: true, configurable: true, enumerable: true });
}

export const NimbusURL: typeof URL = CoreURL;
export type NimbusURL = URL;
export const NimbusURLSearchParams: typeof URLSearchParams = Params;
export type NimbusURLSearchParams = URLSearchParams;
