// API keys of a namespace, each with a role (principal.ts). A key is 256
// random bits shown once at creation; the store keeps only its SHA-256, so a
// copy of the database grants nothing. A request that carries a key looks its
// hash up; a cluster front end keeps live keys in a KeyCache, which every
// front end drops, acknowledged, before a revoke or a namespace delete
// answers (frontend/key-cache.ts), so a revoke still refuses the key on every
// front end at once. `lastUsedAt` is written behind, at most once a minute
// per key and process.
import { createHash, randomBytes } from 'node:crypto';
import type { SqlDb } from '../storage/sql-db.ts';
import { isoTime } from '../shared/iso-time.ts';
import type { Principal, Role } from './principal.ts';
import { unknownNamespace } from './namespaces.ts';

/** What tells a namespace key from the root key (`nmb_…`) at a glance. */
export const KEY_PREFIX = 'nmbk_';
const TOUCH_EVERY_MS = 60_000;

export interface KeyInfo {
  id: string;
  namespace: string;
  role: Role;
  /** The key's first characters, to recognise it; never enough to use it. */
  prefix: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

interface KeyRow {
  id: string;
  namespace: string;
  role: string;
  prefix: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

const COLUMNS = 'id, namespace, role, prefix, created_at, last_used_at, revoked_at';

export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

function toInfo(r: KeyRow): KeyInfo {
  return {
    id: r.id,
    namespace: r.namespace,
    role: r.role as Role,
    prefix: r.prefix,
    createdAt: r.created_at,
    lastUsedAt: r.last_used_at,
    revokedAt: r.revoked_at,
  };
}

/** Makes a key; the returned `key` exists nowhere else afterwards. */
export async function createKey(sql: SqlDb, namespace: string, role: Role): Promise<KeyInfo & { key: string }> {
  const key = `${KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
  const id = `key_${randomBytes(8).toString('hex')}`;
  const info: KeyInfo = {
    id,
    namespace,
    role,
    prefix: key.slice(0, KEY_PREFIX.length + 6),
    createdAt: isoTime(),
    lastUsedAt: null,
    revokedAt: null,
  };
  // Only into a namespace that exists at that moment (a namespace deleted meanwhile takes no key).
  const made = await sql.run(
    'INSERT INTO api_keys (id, namespace, role, hash, prefix, created_at) SELECT ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM namespaces WHERE name = ?)',
    [id, namespace, role, hashKey(key), info.prefix, info.createdAt, namespace],
  );
  if (made === 0) throw unknownNamespace(namespace);
  return { ...info, key };
}

/** Keys of one namespace, or of every namespace; newest first, without key material. */
export async function listKeys(sql: SqlDb, namespace?: string): Promise<KeyInfo[]> {
  const rows = namespace
    ? await sql.all<KeyRow>(`SELECT ${COLUMNS} FROM api_keys WHERE namespace = ? ORDER BY created_at DESC, id`, [
        namespace,
      ])
    : await sql.all<KeyRow>(`SELECT ${COLUMNS} FROM api_keys ORDER BY created_at DESC, id`);
  return rows.map(toInfo);
}

export async function getKey(sql: SqlDb, id: string): Promise<KeyInfo | undefined> {
  const row = await sql.get<KeyRow>(`SELECT ${COLUMNS} FROM api_keys WHERE id = ?`, [id]);
  return row ? toInfo(row) : undefined;
}

/** Revokes a key (kept, with the time); true when it was live. */
export async function revokeKey(sql: SqlDb, id: string): Promise<boolean> {
  return (await sql.run('UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL', [isoTime(), id])) > 0;
}

/**
 * Live keys by hash, each for up to `ttlMs` (a bound should a drop be lost).
 * Unknown and revoked keys are never kept: a new key works at once.
 */
export class KeyCache {
  private readonly entries = new Map<string, { principal: Principal; until: number }>();
  private drops = 0;

  constructor(
    readonly ttlMs: number,
    /** Drops every front end's cache (this one's included) and waits until each has. */
    readonly dropEverywhere: () => Promise<void>,
  ) {}

  get(hash: string): Principal | undefined {
    const hit = this.entries.get(hash);
    return hit && hit.until > Date.now() ? hit.principal : undefined;
  }

  /** The drop count a lookup starts at: what it read is kept only if no drop came meanwhile. */
  get generation(): number {
    return this.drops;
  }

  keep(hash: string, principal: Principal, generation: number): void {
    if (generation !== this.drops) return;
    if (this.entries.size >= 10_000) this.entries.clear();
    this.entries.set(hash, { principal, until: Date.now() + this.ttlMs });
  }

  dropAll(): void {
    this.drops++;
    this.entries.clear();
  }
}

/** When this process last wrote each key's last_used_at. */
const touched = new Map<string, number>();

/** The principal a presented key stands for, or undefined when no live key has its hash. */
export async function principalOfKey(
  sql: SqlDb,
  presented: string,
  onError: (e: unknown) => void,
  cache?: KeyCache,
): Promise<Principal | undefined> {
  const hash = hashKey(presented);
  const cached = cache?.get(hash);
  if (cached) return cached;
  const generation = cache?.generation ?? 0;
  const row = await sql.get<{ id: string; namespace: string; role: string }>(
    'SELECT id, namespace, role FROM api_keys WHERE hash = ? AND revoked_at IS NULL',
    [hash],
  );
  if (!row) return undefined;
  const principal: Principal = { namespace: row.namespace, role: row.role as Role, keyId: row.id };
  cache?.keep(hash, principal, generation);
  const now = Date.now();
  if (now - (touched.get(row.id) ?? 0) >= TOUCH_EVERY_MS) {
    if (touched.size > 10_000) touched.clear();
    touched.set(row.id, now);
    sql.run('UPDATE api_keys SET last_used_at = ? WHERE id = ?', [isoTime(now), row.id]).catch(onError);
  }
  return principal;
}
