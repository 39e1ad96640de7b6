// Where a request's names meet namespaces. A route turns the bare name in its
// URL into the platform-wide key in the caller's namespace (`scopedName`);
// services check the qualified names they are handed (`checkQualifiedName`);
// and every answer maps the key back to `{name, namespace}` (`present*`), so
// no API answer shows a qualified key and a caller never has to parse one.
import type { SandboxInfo } from '../sandbox/driver.ts';
import type { ActivationRecord } from '../storage/store.ts';
import { checkFunctionName } from '../frontend/build/function-spec.ts';
import { checkNamespaceName, qualify, splitQualified } from './names.ts';
import type { Principal } from './principal.ts';

/** The qualified name of a function named in a request, in the caller's namespace. */
export function scopedName(p: Principal, name: string): string {
  return qualify(p.namespace, checkFunctionName(name));
}

/** A qualified name whose namespace and bare name are both valid. */
export function checkQualifiedName(qualified: string): string {
  const { namespace, name } = splitQualified(qualified);
  checkNamespaceName(namespace);
  checkFunctionName(name);
  return qualified;
}

/** The name a caller knows a function by (without its namespace). */
export function bareName(qualified: string): string {
  return splitQualified(qualified).name;
}

/** An activation record as the API shows it: the bare function name and its namespace. */
export function presentActivation(r: ActivationRecord): ActivationRecord & { namespace: string } {
  const { namespace, name } = splitQualified(r.functionName);
  return { ...r, functionName: name, namespace };
}

/** A sandbox as the API shows it. */
export function presentSandbox<S extends Pick<SandboxInfo, 'functionName'>>(s: S): S & { namespace: string } {
  const { namespace, name } = splitQualified(s.functionName);
  return { ...s, functionName: name, namespace };
}
