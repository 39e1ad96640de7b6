// Which version of which function a call runs: the one resolver every caller
// of a function by name goes through (the invoke route, the function origin,
// triggers, topics, sequences, destinations). A reference is `name` (the
// current version), `name:3` (version 3) or `name:prod` (the alias prod,
// whose canary weights are drawn per call), in the caller's namespace; the
// invoke route may instead say `?version=3` or `?alias=prod`. Aliases are read
// from the store on every call, so a move made through any front end counts
// at once on all of them.
import { NimbusError } from '../shared/errors.ts';
import { getAlias, type AliasRecord } from '../storage/aliases.ts';
import type { Store, VersionRecord } from '../storage/store.ts';
import { checkNamespaceName, qualify, splitQualified } from '../tenancy/names.ts';
import type { Principal } from '../tenancy/principal.ts';
import { checkFunctionName } from './build/function-spec.ts';

/** Alias names: letters, digits, '-' and '_', not all digits (those are version numbers). */
export const ALIAS_NAME = /^(?![0-9]+$)[A-Za-z0-9_-]{1,64}$/;
const VERSION_NUMBER = /^[1-9][0-9]{0,8}$/;

export function checkAliasName(alias: string): string {
  if (!ALIAS_NAME.test(alias)) {
    throw new NimbusError(
      'bad_request',
      `invalid alias "${alias.slice(0, 80)}": use 1-64 letters, digits, "-" or "_", not digits alone (name:3 means version 3)`,
    );
  }
  return alias;
}

export function checkVersionNumber(text: string): number {
  if (!VERSION_NUMBER.test(text))
    throw new NimbusError('bad_request', `invalid version "${text.slice(0, 80)}": use a whole number from 1`);
  return Number(text);
}

/** What a caller may ask for beside the name (the invoke route's ?version= and ?alias=). */
export interface TargetPick {
  version?: string;
  alias?: string;
}

export interface Target {
  namespace: string;
  /** The function's name in its namespace. */
  name: string;
  /** The platform-wide key (qualify): what the store, bus and engine know it by. */
  qualifiedName: string;
  /** The version the call runs. */
  version: VersionRecord;
  /** The alias it came through, if any. */
  alias?: string;
  /** How the version was chosen: the current one, a version asked for, an alias's own version, or its canary weights. */
  chosenBy: 'latest' | 'version' | 'alias' | 'weight';
}

/** Splits `name`, `name:3` or `name:prod` and checks each part. */
export function parseRef(ref: string, pick: TargetPick = {}): { name: string; version?: number; alias?: string } {
  const colon = ref.indexOf(':');
  const name = checkFunctionName(colon < 0 ? ref : ref.slice(0, colon));
  const suffix = colon < 0 ? undefined : ref.slice(colon + 1);
  const asked = [suffix, pick.version, pick.alias].filter((x) => x !== undefined);
  if (asked.length > 1) {
    throw new NimbusError(
      'bad_request',
      `ask for one of name:suffix, ?version= or ?alias= (got ${asked.length}); e.g. ${name}:prod or ?alias=prod`,
    );
  }
  if (pick.version !== undefined) return { name, version: checkVersionNumber(pick.version) };
  if (pick.alias !== undefined) return { name, alias: checkAliasName(pick.alias) };
  if (suffix === undefined) return { name };
  return /^[0-9]+$/.test(suffix)
    ? { name, version: checkVersionNumber(suffix) }
    : { name, alias: checkAliasName(suffix) };
}

/** The version an alias sends this call to: each weight's share to its version, the rest to the alias's own. */
export function pickVersion(a: Pick<AliasRecord, 'version' | 'weights'>, random = Math.random()): number {
  let edge = 0;
  for (const [version, weight] of Object.entries(a.weights).sort(([x], [y]) => Number(x) - Number(y))) {
    edge += weight;
    if (random < edge) return Number(version);
  }
  return a.version;
}

const noFunction = (name: string) =>
  new NimbusError('not_found', `function "${name}" does not exist; deploy it with PUT /v1/functions/${name}`);

/** Resolves a reference in a namespace to the version a call runs now. Another namespace's function is a 404. */
export async function resolveTarget(
  store: Store,
  namespace: string,
  ref: string,
  pick: TargetPick = {},
): Promise<Target> {
  const parsed = parseRef(ref, pick);
  const { name } = parsed;
  const qualifiedName = qualify(namespace, name);
  const base = { namespace, name, qualifiedName };
  if (parsed.version !== undefined) {
    const version = await store.getVersion(qualifiedName, parsed.version);
    if (version) return { ...base, version, chosenBy: 'version' };
    if (!(await store.getFunction(qualifiedName))) throw noFunction(name);
    throw new NimbusError(
      'not_found',
      `function "${name}" has no version ${parsed.version}; see GET /v1/functions/${name}/versions`,
    );
  }
  if (parsed.alias !== undefined) {
    const alias = await getAlias(store.sql, qualifiedName, parsed.alias);
    if (!alias) {
      if (!(await store.getFunction(qualifiedName))) throw noFunction(name);
      throw new NimbusError(
        'not_found',
        `function "${name}" has no alias "${parsed.alias}"; make it with PUT /v1/functions/${name}/aliases/${parsed.alias}`,
      );
    }
    const chosen = pickVersion(alias);
    const version = await store.getVersion(qualifiedName, chosen);
    if (!version)
      throw new NimbusError(
        'not_found',
        `alias "${alias.alias}" of "${name}" sends calls to version ${chosen}, which no longer exists`,
      );
    return { ...base, version, alias: alias.alias, chosenBy: chosen === alias.version ? 'alias' : 'weight' };
  }
  const fn = await store.getFunction(qualifiedName);
  if (!fn) throw noFunction(name);
  return { ...base, version: fn, chosenBy: 'latest' };
}

/** The same, for a qualified reference (`ns/name:prod`, or `name:prod` in default), as the platform passes names around. */
export function resolveQualified(store: Store, qualifiedRef: string, pick: TargetPick = {}): Promise<Target> {
  const { namespace, name } = splitQualified(qualifiedRef);
  return resolveTarget(store, checkNamespaceName(namespace), name, pick);
}

/** A reference named in a request (`name`, `name:3`, `name:prod`), checked, as the qualified reference in the caller's namespace. */
export function scopedRef(p: Principal, ref: string): string {
  parseRef(ref); // a bad name, or one holding a '/', goes no further
  return qualify(p.namespace, ref);
}

/** The invoke route's ?version= and ?alias= (each at most once). */
export function targetPick(query: Record<string, string | string[] | undefined>): TargetPick {
  const pick: TargetPick = {};
  for (const key of ['version', 'alias'] as const) {
    const value = query[key];
    if (Array.isArray(value)) throw new NimbusError('bad_request', `give ?${key}= once, not ${value.length} times`);
    if (value !== undefined) pick[key] = value;
  }
  return pick;
}
