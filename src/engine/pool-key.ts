// The key of one function version's sandbox pool, `name@version`: the invoker
// keeps its pools and cached versions under it, and pools, capacity and logs
// name themselves by it. Built and read only here. A function name never holds
// an '@' (function-spec.ts: FUNCTION_NAME), so the key splits at its last one.
import { NimbusError } from '../shared/errors.ts';

/** The pool key of a function's version. */
export function poolKey(name: string, version: number): string {
  return `${name}@${version}`;
}

/** The function name and version a pool key was built from (poolKey's inverse). */
export function parsePoolKey(key: string): { name: string; version: number } {
  const at = key.lastIndexOf('@');
  const version = Number(key.slice(at + 1));
  if (at < 1 || !Number.isSafeInteger(version) || version < 1 || String(version) !== key.slice(at + 1)) {
    throw new NimbusError('internal', `"${key}" is not a pool key (name@version, version a whole number from 1)`);
  }
  return { name: key.slice(0, at), version };
}
