// Row shapes both SQL stores read back (the tables are the same in SQLite and
// PostgreSQL), the rows they write, and the mapping to the Store contract's
// records. Function and version records come out frozen (deepFreeze): a store
// may cache one and hand it to every caller, so no caller may change it.
import type {
  ActivationRecord,
  DeployedVersion,
  FunctionConfig,
  FunctionRecord,
  OutboxClaim,
  QueueEntry,
  VersionRecord,
} from './store.ts';

export interface VersionRow {
  name: string;
  version: number;
  config: string;
  artifact_sha256: string;
  created_at: string;
  size: number;
  first_deployed_at?: string;
}

export interface QueueRow {
  activation_id: string;
  function_name: string;
  input: string;
  attempts: number;
  max_attempts: number;
  /** PostgreSQL returns bigint as a string. */
  run_at: string | number;
  idempotency_key: string | null;
  state: 'pending' | 'done';
}

export interface OutboxRow {
  activation_id: string;
  message_id: string;
  state: QueueEntry['state'] | null;
  /** PostgreSQL returns bigint as a string; null when the queue entry is gone. */
  run_at: string | number | null;
}

/** Freezes a record and everything in it, so that a cached record can be handed to every caller. */
export function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

const version = (r: VersionRow): VersionRecord => ({
  name: r.name,
  version: r.version,
  config: JSON.parse(r.config) as FunctionConfig,
  artifactSha256: r.artifact_sha256,
  artifactBytes: r.size,
  createdAt: r.created_at,
});

export const toVersion = (r: VersionRow): VersionRecord => deepFreeze(version(r));

export const toFunction = (r: VersionRow): FunctionRecord =>
  deepFreeze({ ...version(r), firstDeployedAt: r.first_deployed_at ?? r.created_at });

/** The record of a version a deploy just stored, frozen like a read one (its config a copy: the caller keeps its own). */
export function toDeployed(v: Omit<DeployedVersion, 'config'>, config: FunctionConfig): DeployedVersion {
  return deepFreeze({ ...v, config: JSON.parse(JSON.stringify(config)) as FunctionConfig });
}

/** An activation record's row: the indexed columns and the whole record as JSON (statements.ts: activationUpsert). */
export type ActivationRow = [
  id: string,
  functionName: string,
  functionVersion: number,
  createdAt: string,
  status: string,
  body: string,
];

export const activationRow = (r: ActivationRecord): ActivationRow => [
  r.id,
  r.functionName,
  r.functionVersion,
  r.createdAt,
  r.status,
  JSON.stringify(r),
];

/** A fresh copy the caller owns (activation records are read rarely and often changed into the next state). */
export const toActivation = (r: { body: string }): ActivationRecord => JSON.parse(r.body) as ActivationRecord;

/** A queue entry's row, in the order of statements.ts's QUEUE_COLUMNS. */
export const queueRow = (e: QueueEntry): unknown[] => [
  e.activationId,
  e.functionName,
  JSON.stringify(e.input),
  e.attempts,
  e.maxAttempts,
  e.runAt,
  e.idempotencyKey,
  e.state,
];

export const toQueueEntry = (r: QueueRow): QueueEntry => ({
  activationId: r.activation_id,
  functionName: r.function_name,
  input: JSON.parse(r.input) as unknown,
  attempts: r.attempts,
  maxAttempts: r.max_attempts,
  runAt: Number(r.run_at),
  idempotencyKey: r.idempotency_key,
  state: r.state,
});

export const toOutboxClaim = (r: OutboxRow): OutboxClaim => ({
  activationId: r.activation_id,
  messageId: r.message_id,
  state: r.state,
  runAt: r.run_at === null ? null : Number(r.run_at),
});
