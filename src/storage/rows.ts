// Row shapes both SQL stores read back (the tables are the same in SQLite and
// PostgreSQL), and their mapping to the Store contract's records.
import type { FunctionConfig, FunctionRecord, QueueEntry, VersionRecord } from './store.ts';

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

export const toVersion = (r: VersionRow): VersionRecord => ({
  name: r.name,
  version: r.version,
  config: JSON.parse(r.config) as FunctionConfig,
  artifactSha256: r.artifact_sha256,
  artifactBytes: r.size,
  createdAt: r.created_at,
});

export const toFunction = (r: VersionRow): FunctionRecord => ({ ...toVersion(r), firstDeployedAt: r.first_deployed_at ?? r.created_at });

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

/** Freezes a record and everything in it, so that a cached record can be handed to every caller. */
export function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
