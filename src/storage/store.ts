// The Store contract: everything nimbus keeps (functions, versions, artifacts,
// activation records, the async queue). Drivers: sqlite/ (embedded) and
// postgres/ (cluster); both pass test/storage/conformance.
import type { EngineKind } from '../sandbox/driver.ts';
import type { GuestError } from '../guest/protocol.ts';
import type { RetentionPolicy, SweepReport } from './retention.ts';

export interface FunctionConfig {
  runtime: 'nodejs';
  language: 'javascript' | 'typescript';
  handler?: string;
  engine: EngineKind;
  memoryMb: number;
  timeoutMs: number;
  concurrency: number;
  minSandboxes: number;
  maxSandboxes: number;
  network: boolean;
  env: Record<string, string>;
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
  engine: EngineKind;
  trigger: 'sync' | 'async' | 'http';
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
  /** Engine facts worth keeping per run, e.g. a microVM's accelerator and why. */
  engineDetails?: Record<string, string>;
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
  status?: ActivationStatus;
  limit: number;
  /** Only records created before this ISO time (paging). */
  before?: string;
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

export interface Store {
  migrate(): Promise<void>;
  /** Stores the artifact (if new), a new version and the function pointer, atomically. */
  deployVersion(name: string, config: FunctionConfig, artifactSha256: string, artifact: Buffer): Promise<DeployedVersion>;
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
   * id = activation id, due at `publishAfter`, default `entry.runAt`) in one
   * transaction. With an idempotency key already seen for the function,
   * stores nothing and returns the earlier activation id.
   */
  enqueue(record: ActivationRecord, entry: QueueEntry, publishAfter?: number): Promise<{ activationId: string; duplicate: boolean }>;
  getQueueEntry(activationId: string): Promise<QueueEntry | undefined>;
  pendingQueue(): Promise<QueueEntry[]>;
  updateQueueEntry(activationId: string, change: Partial<Pick<QueueEntry, 'attempts' | 'runAt' | 'state'>>): Promise<void>;

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
