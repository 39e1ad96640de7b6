// Enforces a namespace's quotas (quota-spec.ts) on every way a function runs:
// the invocation service asks `admit` (invocations per minute) for each new
// sync or HTTP call and the async scheduler at accept (API, triggers, topics);
// the dispatcher holds a concurrency slot from `enter` around every run (sync,
// async attempt, sequence step) until it ends. The function service asks
// `checkDeploy` before it stores anything and stores through `deploying`, so
// that racing deploys cannot pass maxFunctions. A namespace's quotas are read
// from the namespaces table and cached for CACHE_MS, so a namespace without
// quotas costs no round trip per call.
import type { SqlDb } from '../storage/sql-db.ts';
import { NimbusError } from '../shared/errors.ts';
import { DEFAULT_NAMESPACE, splitQualified } from './names.ts';
import { onNamespaceDeleted } from './namespaces.ts';
import { parseQuotas, type Quotas } from './quota-spec.ts';
import { MemoryQuotaCounter, type QuotaCounter, type Release } from './quotas-counter.ts';
import { SqlQuotaCounter } from './quotas-sql.ts';

/** How long a namespace's quotas are cached: a change made on another front end holds within this. */
export const CACHE_MS = 2_000;
const MINUTE_MS = 60_000;
/** How long a deploy waits for the namespace's deploy lock. */
const DEPLOY_WAIT_MS = 30_000;

// A deleted namespace's rows in the shared counters go with it, in the transaction that deletes it.
onNamespaceDeleted((namespace) => [
  { sql: 'DELETE FROM quota_rate WHERE namespace = ?', args: [namespace] },
  { sql: 'DELETE FROM quota_leases WHERE namespace = ?', args: [namespace] },
]);

export interface QuotaUsage {
  running: number;
  invocationsThisMinute: number;
  functions: number;
}

export class QuotaGate {
  private readonly cache = new Map<string, { quotas: Quotas; until: number }>();

  constructor(
    private readonly sql: SqlDb,
    private readonly counter: QuotaCounter,
  ) {}

  /** Counts in memory for a single process (SQLite), in the shared store otherwise (PostgreSQL). */
  static forStore(sql: SqlDb, log?: (msg: string, extra?: Record<string, unknown>) => void): QuotaGate {
    return new QuotaGate(sql, sql.dialect === 'postgres' ? new SqlQuotaCounter(sql, log) : new MemoryQuotaCounter());
  }

  async quotasOf(namespace: string): Promise<Quotas> {
    const hit = this.cache.get(namespace);
    if (hit && hit.until > Date.now()) return hit.quotas;
    const row = await this.sql.get<{ quotas: unknown }>('SELECT quotas FROM namespaces WHERE name = ?', [namespace]);
    const raw = typeof row?.quotas === 'string' ? JSON.parse(row.quotas) : row?.quotas;
    const quotas = raw ? parseQuotas(raw) : {};
    this.cache.set(namespace, { quotas, until: Date.now() + CACHE_MS });
    return quotas;
  }

  /** Drops the cached quotas of a namespace (this process changed them). */
  forget(namespace: string): void {
    this.cache.delete(namespace);
  }

  /** Counts one new invocation of a function (qualified name); 429 past invocationsPerMinute. */
  async admit(functionName: string): Promise<void> {
    const { namespace } = splitQualified(functionName);
    const limit = (await this.quotasOf(namespace)).invocationsPerMinute;
    if (limit === undefined) return;
    const now = Date.now();
    const minute = Math.floor(now / MINUTE_MS);
    if (await this.counter.countInvocation(namespace, minute, limit)) return;
    const retryAfterSeconds = Math.max(1, Math.ceil(((minute + 1) * MINUTE_MS - now) / 1000));
    throw new NimbusError(
      'throttled',
      `namespace "${namespace}" is over its quota invocationsPerMinute (${limit}); retry in ${retryAfterSeconds} s, when the next minute starts, or ask the operator to raise it`,
      { retryAfterSeconds, quota: 'invocationsPerMinute', namespace },
    );
  }

  /** Takes a concurrency slot for one execution; 429 while maxConcurrent run. Release it when the run ends. */
  async enter(functionName: string): Promise<Release | undefined> {
    const { namespace } = splitQualified(functionName);
    const max = (await this.quotasOf(namespace)).maxConcurrent;
    if (max === undefined) return undefined;
    const release = await this.counter.acquire(namespace, max);
    if (release) return release;
    throw new NimbusError(
      'throttled',
      `namespace "${namespace}" is at its quota maxConcurrent (${max} executions running); retry when one ends, or ask the operator to raise it`,
      { retryAfterSeconds: 1, quota: 'maxConcurrent', namespace },
    );
  }

  /** A deploy of a function (qualified name) within maxMemoryMb and, when it is new, maxFunctions: 400 otherwise. */
  async checkDeploy(functionName: string, memoryMb: number, isNew: boolean): Promise<void> {
    const { namespace, name } = splitQualified(functionName);
    await this.checkMemory(namespace, memoryMb, `deploy "${name}"`);
    if (isNew) await this.checkRoom(namespace, name);
  }

  /**
   * Stores a deploy (`store`) so that maxFunctions holds under racing deploys:
   * while the namespace has that quota, its new functions are stored one at a
   * time, across front ends (a slot of max 1 under a key no namespace can have),
   * each counted again just before its write.
   */
  async deploying<T>(functionName: string, isNew: boolean, store: () => Promise<T>): Promise<T> {
    const { namespace, name } = splitQualified(functionName);
    if (!isNew || (await this.quotasOf(namespace)).maxFunctions === undefined) return store();
    const release = await this.deployLock(namespace);
    try {
      const exists = await this.sql.get('SELECT name FROM functions WHERE name = ?', [functionName]);
      if (!exists) await this.checkRoom(namespace, name);
      return await store();
    } finally {
      await release();
    }
  }

  private async checkRoom(namespace: string, name: string): Promise<void> {
    const max = (await this.quotasOf(namespace)).maxFunctions;
    if (max === undefined || (await this.functionCount(namespace)) < max) return;
    throw new NimbusError(
      'bad_request',
      `namespace "${namespace}" is at its quota maxFunctions (${max} functions); delete one before deploying "${name}", or ask the operator to raise it`,
      { quota: 'maxFunctions', namespace },
    );
  }

  /** The namespace's deploy lock (a slot of max 1), waited for: a store takes milliseconds, so a deploy waits rather than fails. */
  private async deployLock(namespace: string): Promise<Release> {
    for (const until = Date.now() + DEPLOY_WAIT_MS; ;) {
      const release = await this.counter.acquire(`${namespace}#deploy`, 1);
      if (release) return release;
      if (Date.now() > until)
        throw new NimbusError(
          'unavailable',
          `another deploy of a new function held namespace "${namespace}"'s deploy lock for ${DEPLOY_WAIT_MS / 1000} s; retry`,
        );
      await new Promise((r) => setTimeout(r, 20 + Math.random() * 30));
    }
  }

  /** Memory asked for in a namespace (a deploy, a sandbox resize) within maxMemoryMb: 400 otherwise. */
  async checkMemory(namespace: string, memoryMb: number, what: string): Promise<void> {
    const max = (await this.quotasOf(namespace)).maxMemoryMb;
    if (max !== undefined && memoryMb > max)
      throw new NimbusError(
        'bad_request',
        `memoryMb ${memoryMb} is over namespace "${namespace}"'s quota maxMemoryMb (${max}); ${what} with memoryMb of at most ${max}`,
        { quota: 'maxMemoryMb', namespace },
      );
  }

  async usage(namespace: string): Promise<QuotaUsage> {
    const counted = await this.counter.usage(namespace, Math.floor(Date.now() / MINUTE_MS));
    return { ...counted, functions: await this.functionCount(namespace) };
  }

  private async functionCount(namespace: string): Promise<number> {
    // Qualified names: bare in default, "ns/name" elsewhere (names never hold '/', and namespaces no LIKE wildcard).
    const row =
      namespace === DEFAULT_NAMESPACE
        ? await this.sql.get<{ n: number | string }>("SELECT count(*) AS n FROM functions WHERE name NOT LIKE '%/%'")
        : await this.sql.get<{ n: number | string }>('SELECT count(*) AS n FROM functions WHERE name LIKE ?', [
            `${namespace}/%`,
          ]);
    return Number(row?.n ?? 0);
  }

  close(): Promise<void> {
    return this.counter.close();
  }
}
