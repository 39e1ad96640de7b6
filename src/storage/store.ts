// The Store contract: everything nimbus keeps (functions, versions, artifacts,
// activation records, the async queue). Drivers: sqlite/ (embedded) and
// postgres/ (cluster); both pass test/storage/conformance.
import type { EngineKind } from '../sandbox/driver.ts';
import type { GuestError } from '../guest/protocol.ts';
import type { RetentionPolicy, SweepReport } from './retention.ts';
import type { SqlDb } from './sql-db.ts';

export interface FunctionConfig {
  runtime: 'nodejs';
  language: 'javascript' | 'typescript';
  handler?: string;
  engine: EngineKind;
  memoryMb: number;
  timeoutMs: number;
  concurrency: number;
  /** Calls per sandbox the autoscaler aims for (src/engine/autoscale/); absent: concurrency. */
  targetConcurrency?: number;
  /** Idle keep-alive in ms (fixed); absent: learned per function (src/engine/keepalive/). */
  keepAlive?: number;
  /** Which sync records are stored (src/engine/records-policy.ts); absent: all. */
  records?: 'errors' | { sample: number };
  minSandboxes: number;
  maxSandboxes: number;
  network: boolean;
  env: Record<string, string>;
  /** Env name → the name of a secret of the function's namespace, whose value the sandbox gets at start (tenancy/secrets.ts). */
  secrets?: Record<string, string>;
  /** A sequence (src/compose/): its steps run in order; absent for a plain function. */
  kind?: 'function' | 'sequence';
  /** A sequence's steps: `name`, `name:version` or `name:alias`, in its namespace. */
  steps?: string[];
  /** Where an async invocation's record goes when it ends (src/compose/destinations.ts). */
  destinations?: Destinations;
}

/** A destination: another function, a topic, or a webhook signed with a secret (named, never the value). */
export type DestinationTarget = { function: string } | { topic: string } | { url: string; secret?: string };
export interface Destinations {
  onSuccess?: DestinationTarget;
  onFailure?: DestinationTarget;
}

export interface VersionRecord {
  name: string;
  version: number;
  config: FunctionConfig;
  artifactSha256: string;
  artifactBytes: number;
  createdAt: string;
}

export interface FunctionRecord extends VersionRecord {
  /** When the function was first deployed. */
  firstDeployedAt: string;
}

export const ACTIVATION_STATUSES = [
  'queued',
  'running',
  'success',
  'error',
  'timeout',
  'memory_exhausted',
  'crashed',
  'result_too_large',
  'dead_letter',
] as const;
export type ActivationStatus = (typeof ACTIVATION_STATUSES)[number];

export interface ActivationRecord {
  id: string;
  functionName: string;
  functionVersion: number;
  /** The engine that ran it; `sequence` for a sequence's parent record, which ran no code itself. */
  engine: EngineKind | 'sequence';
  trigger: 'sync' | 'async' | 'http' | 'sequence' | 'destination' | 'cron' | 'topic';
  status: ActivationStatus;
  cold: boolean | null;
  invoker: string | null;
  sandboxId: string | null;
  attempts: number;
  queuedMs: number | null;
  initMs: number | null;
  runMs: number | null;
  createdAt: string;
  startedAt: string | null;
  endedAt: string | null;
  result: unknown;
  error: GuestError | null;
  logs: string;
  logsTruncated: boolean;
  maxMemoryMb: number | null;
  gbSeconds: number | null;
  /** A sequence's record: its steps' activations, in order. */
  childActivationIds?: string[];
  /** A sequence step's record: the sequence's activation. */
  parentActivationId?: string;
  /** How many destination hops led to this activation (a chain stops at 8). */
  chainDepth?: number;
  /** What became of the async record's destination (src/compose/destinations.ts). */
  destination?: DestinationOutcome;
  /** The alias the call came through (its canary weights may have picked functionVersion). */
  alias?: string;
  /** Engine facts worth keeping per run, e.g. a microVM's accelerator and why. */
  engineDetails?: Record<string, string>;
}

export interface DestinationOutcome {
  on: 'onSuccess' | 'onFailure';
  target: { function: string } | { topic: string } | { url: string };
  delivered: boolean;
  /** The activation the destination made (function and topic destinations). */
  activationIds?: string[];
  /** Each webhook attempt: its time and HTTP status (null: no answer). */
  attempts?: { at: string; status: number | null; error?: string }[];
  error?: string;
}

export interface QueueEntry {
  activationId: string;
  functionName: string;
  /** The invocation input as JSON (InvokeInput). */
  input: unknown;
  attempts: number;
  maxAttempts: number;
  runAt: number;
  idempotencyKey: string | null;
  state: 'pending' | 'done';
}

/** A change to a queue entry (updateQueueEntry): each field given replaces the entry's, the rest stay. */
export type QueueChange = Partial<Pick<QueueEntry, 'attempts' | 'runAt' | 'state'>>;

/**
 * An outbox row claimed for publishing: the queue message of an async entry
 * that the bus may not hold (its publisher did not confirm it), with the
 * entry's state and time (null when the entry is gone).
 */
export interface OutboxClaim {
  activationId: string;
  /** The bus message id to publish under (the bus drops a repeat of it). */
  messageId: string;
  state: QueueEntry['state'] | null;
  runAt: number | null;
}

export interface ActivationQuery {
  functionName?: string;
  /** Only records of this namespace's functions (tenancy/names.ts: bare names in `default`, `ns/name` elsewhere). */
  namespace?: string;
  status?: ActivationStatus;
  limit: number;
  /** Only records created before this ISO time (paging). */
  before?: string;
  /** With `before`: also the records created at that very time whose id sorts before this one (paging without losing ties). */
  beforeId?: string;
  /** Only records created at or after this ISO time (a time range, as the cost report reads). */
  after?: string;
}

/** A version just deployed. */
export interface DeployedVersion extends VersionRecord {
  /**
   * Whether this deploy made the function (no function of the name existed),
   * decided in the deploy's own transaction: of deploys racing to make one
   * name, exactly one is `created`.
   */
  created: boolean;
}

/**
 * What nimbus keeps, behind one contract; test/storage/cases.ts is what every
 * backend must pass, and both backends run the same SQL (statements.ts).
 *
 * @remarks
 * Where the backends may differ, and what callers may rely on anyway:
 *
 * - **Durability of activation writes.** SQLite: `putActivation` returns at
 *   once and a worker thread commits the record within ~10 ms
 *   (`ACTIVATION_WRITE_DELAY_MS`), in batches, in the order written; a crash
 *   loses at most those last milliseconds, never a record older than one it
 *   kept. PostgreSQL: the record is committed before the call returns (one
 *   statement per call; a backend may batch, within the same ordering
 *   promise). Either way a read through the same store sees the record once
 *   the call has returned, and a deploy, delete, enqueue or queue update
 *   reaches the disk after the records written before it.
 * - **Processes and locking.** SQLite: one process owns the file and is its
 *   only writer; transactions run synchronously on one connection, so a claim
 *   of outbox rows or an idempotency check needs no lock, and the current
 *   function records are cached (the warm path reads no database). PostgreSQL:
 *   every front end and invoker shares it. Migrations and retention sweeps
 *   take advisory locks (a second sweeper skips: `SweepReport.skipped`),
 *   outbox claims skip rows others hold (`FOR UPDATE SKIP LOCKED`), and the
 *   winner of racing enqueues with one idempotency key is decided by a unique
 *   index in one statement. Function records are read on every call: another
 *   process may have deployed.
 * - **Clocks.** Every time is made by the calling process, not the database:
 *   `createdAt` and friends as fixed-width ISO-8601 UTC text (the same order
 *   as text in either database, whatever its collation), `runAt` and
 *   `publishAfter` as milliseconds since the epoch, the retention age cut-off
 *   from the sweeper's clock. In a cluster, records from different processes
 *   are ordered only as well as their clocks agree.
 * - **JSON columns.** A function's config, an activation record and a queued
 *   input are stored as JSON text (TEXT in both, not PostgreSQL's jsonb): they
 *   come back exactly as written, values JSON cannot hold do not survive
 *   (`undefined` fields vanish, `NaN` becomes null), and queries filter only
 *   on the plain columns beside them (name, version, status, created_at).
 * - **Numbers.** PostgreSQL returns BIGINT columns (`run_at`,
 *   `publish_after`) as strings; rows.ts turns them back into numbers, so
 *   both backends hand out the same records.
 * - **Records handed out.** Function and version records are frozen in both
 *   (a backend may share one among callers); activation records and queue
 *   entries are fresh copies the caller owns.
 * - **Failures.** PostgreSQL turns an unreachable database into
 *   `NimbusError('unavailable')` within its connect and query timeouts, and
 *   works again once it is back; SQLite has no such state: its errors are
 *   disk or platform faults and are thrown as they are.
 */
export interface Store {
  /** Plain SQL on the same database, for the feature tables (sql-db.ts). */
  readonly sql: SqlDb;
  /** Forgets what the store caches of these functions (after a change made through `sql`). */
  forgetFunctions(names: string[]): void;
  /**
   * Where a store shared by several processes can keep function records read
   * by name (for up to `ttlMs`): only for a process that calls forgetFunctions
   * whenever any process changes a function (frontend/function-cache.ts).
   */
  cacheFunctions?(ttlMs: number): void;
  migrate(): Promise<void>;
  /** Stores the artifact (if new), a new version and the function pointer, atomically. */
  deployVersion(
    name: string,
    config: FunctionConfig,
    artifactSha256: string,
    artifact: Buffer,
  ): Promise<DeployedVersion>;
  getFunction(name: string): Promise<FunctionRecord | undefined>;
  listFunctions(): Promise<FunctionRecord[]>;
  getVersion(name: string, version: number): Promise<VersionRecord | undefined>;
  /** Deletes the function and its versions (activation records stay, until retention deletes them). */
  deleteFunction(name: string): Promise<boolean>;
  getArtifact(sha256: string): Promise<Buffer | undefined>;

  /**
   * Stores (or replaces) an activation record. Once it resolves, reads through
   * this store see the record. A store may commit it a few milliseconds later
   * (SQLite batches them), but never after a write that came later.
   */
  putActivation(record: ActivationRecord): Promise<void>;
  getActivation(id: string): Promise<ActivationRecord | undefined>;
  listActivations(query: ActivationQuery): Promise<ActivationRecord[]>;

  /**
   * Records a queued activation, its queue entry and its outbox row (message
   * id = activation id, due at `publishAfter`, default `entry.runAt`; `null`:
   * no row, for a bus that is given every pending entry at start) in one
   * transaction. With an idempotency key already seen for the function,
   * stores nothing and returns the earlier activation id.
   */
  enqueue(
    record: ActivationRecord,
    entry: QueueEntry,
    publishAfter?: number | null,
  ): Promise<{ activationId: string; duplicate: boolean }>;
  getQueueEntry(activationId: string): Promise<QueueEntry | undefined>;
  /**
   * What an async run starts from: its queue entry and its activation record,
   * read together (PostgreSQL: one statement, as a run costs a round trip per read).
   */
  getQueuedRun(activationId: string): Promise<{ entry: QueueEntry; record?: ActivationRecord } | undefined>;
  pendingQueue(): Promise<QueueEntry[]>;
  updateQueueEntry(activationId: string, change: QueueChange): Promise<void>;

  /**
   * The async outbox: a row per queue message not yet confirmed on the bus.
   * putOutbox adds or replaces one (its message is due from `publishAfter`).
   * claimOutbox takes up to `limit` rows due by `now` and makes them due again
   * at `leaseUntil` (a claimer that dies hands them on); rows another process
   * is claiming are skipped. clearOutbox removes rows whose messages the bus holds.
   */
  putOutbox(activationId: string, messageId: string, publishAfter: number): Promise<void>;
  claimOutbox(now: number, leaseUntil: number, limit: number): Promise<OutboxClaim[]>;
  clearOutbox(activationIds: string[]): Promise<void>;

  /**
   * Deletes activation records the retention policy no longer keeps, in
   * batches (retention.ts); never a queued or running one. One process at a
   * time sweeps a shared store: the others skip.
   */
  sweepActivations(policy: RetentionPolicy): Promise<SweepReport>;

  /** Whether the store answers (for /healthz and fail-fast 503s). */
  ping(): Promise<void>;
  close(): Promise<void>;
}
