// structuredClone for the isolate runtime: the structured clone algorithm for
// the values it covers (primitives, plain objects and arrays, Date, RegExp,
// Map, Set, Error, ArrayBuffer and its views, boxed primitives), cycles kept;
// functions, symbols and other host objects throw DataCloneError.
import { NimbusDOMException } from './isolate-web-encoding.guest.ts';

const ERRORS: Record<string, ErrorConstructor> = {
  Error,
  EvalError,
  RangeError,
  ReferenceError,
  SyntaxError,
  TypeError,
  URIError,
};

function notCloneable(what: string): NimbusDOMException {
  return new NimbusDOMException(`${what} could not be cloned.`, 'DataCloneError');
}

function cloneView(value: ArrayBufferView, seen: Map<unknown, unknown>): unknown {
  const buffer = clone(value.buffer, seen) as ArrayBuffer;
  if (value instanceof DataView) return new DataView(buffer, value.byteOffset, value.byteLength);
  const Ctor = value.constructor as new (b: ArrayBuffer, offset: number, length: number) => unknown;
  return new Ctor(buffer, value.byteOffset, (value as unknown as { length: number }).length);
}

function clone(value: unknown, seen: Map<unknown, unknown>): unknown {
  if (typeof value === 'function') throw notCloneable(String(value).slice(0, 60));
  if (typeof value === 'symbol') throw notCloneable(value.toString());
  if (typeof value !== 'object' || value === null) return value;
  if (seen.has(value)) return seen.get(value);
  let out: unknown;
  if (value instanceof ArrayBuffer) out = value.slice(0);
  else if (ArrayBuffer.isView(value)) out = cloneView(value, seen);
  else if (value instanceof Date) out = new Date(value.getTime());
  else if (value instanceof RegExp) out = new RegExp(value.source, value.flags);
  else if (value instanceof Boolean || value instanceof Number || value instanceof String)
    out = Object(value.valueOf());
  else if (Object.prototype.toString.call(value) === '[object BigInt]')
    out = Object((value as { valueOf(): bigint }).valueOf());
  else if (value instanceof Error) {
    const Ctor = ERRORS[value.name] ?? Error;
    const e = new Ctor(value.message);
    if (value.stack !== undefined) e.stack = value.stack;
    seen.set(value, e);
    // V8's serializer (Node's structuredClone) keeps an own cause too.
    if (Object.prototype.hasOwnProperty.call(value, 'cause'))
      Object.defineProperty(e, 'cause', {
        value: clone((value as { cause: unknown }).cause, seen),
        writable: true,
        configurable: true,
        enumerable: false,
      });
    return e;
  } else if (value instanceof Map) {
    const map = new Map();
    seen.set(value, map);
    for (const [k, v] of value) map.set(clone(k, seen), clone(v, seen));
    return map;
  } else if (value instanceof Set) {
    const set = new Set();
    seen.set(value, set);
    for (const v of value) set.add(clone(v, seen));
    return set;
  } else if (value instanceof Promise || value instanceof WeakMap || value instanceof WeakSet) {
    throw notCloneable(`#<${value.constructor.name}>`);
  } else {
    const target: Record<string, unknown> = Array.isArray(value)
      ? (new Array(value.length) as unknown as Record<string, unknown>)
      : {};
    seen.set(value, target);
    for (const key of Object.keys(value)) target[key] = clone((value as Record<string, unknown>)[key], seen);
    return target;
  }
  seen.set(value, out);
  return out;
}

export function structuredClone<T>(value: T, options?: { transfer?: unknown[] }): T {
  // As Node: a value must be given (structuredClone() is an error, structuredClone(undefined) is not).
  if (arguments.length === 0) throw new TypeError('structuredClone: the value to clone is missing');
  if (options?.transfer?.length) throw notCloneable('transfer lists are not supported in the isolate engine; a value');
  return clone(value, new Map()) as T;
}
