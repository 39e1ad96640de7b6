// Namespaced names. Everything a team owns (functions, triggers, topics, KV,
// secrets) lives in one namespace. Inside the platform a function is known by
// one string, its qualified name: the bare name in `default` (so every record
// made before namespaces existed stays valid) and `namespace/name` elsewhere,
// as OpenWhisk's fully qualified names are. Names never hold a '/' (function
// names are letters, digits, '-' and '_'), so the split is unambiguous; the
// engine, the bus and the stores key by the qualified name and never split it.
import { NimbusError } from '../shared/errors.ts';

export const DEFAULT_NAMESPACE = 'default';

/** Lower-case letters, digits and '-', 1-40, starting with a letter: safe in URLs, headers, SQL LIKE and NATS subjects. */
export const NAMESPACE_NAME = /^[a-z][a-z0-9-]{0,39}$/;

export function checkNamespaceName(ns: string): string {
  if (!NAMESPACE_NAME.test(ns)) {
    throw new NimbusError(
      'bad_request',
      `invalid namespace "${ns.slice(0, 80)}": use 1-40 lower-case letters, digits or "-", starting with a letter`,
    );
  }
  return ns;
}

/** The platform-wide key of a name in a namespace. */
export function qualify(namespace: string, name: string): string {
  return namespace === DEFAULT_NAMESPACE ? name : `${namespace}/${name}`;
}

/** A qualified name's namespace and bare name (qualify's inverse). */
export function splitQualified(qualified: string): { namespace: string; name: string } {
  const slash = qualified.indexOf('/');
  return slash < 0
    ? { namespace: DEFAULT_NAMESPACE, name: qualified }
    : { namespace: qualified.slice(0, slash), name: qualified.slice(slash + 1) };
}

/** Whether a qualified name belongs to a namespace. */
export function inNamespace(qualified: string, namespace: string): boolean {
  return splitQualified(qualified).namespace === namespace;
}
