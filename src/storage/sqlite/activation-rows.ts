// How an activation record is stored in SQLite: the upsert and its row of
// parameters, shared by the store's own connection and the writer thread.
import type { ActivationRecord } from '../store.ts';

export const ACTIVATION_UPSERT = `INSERT INTO activations (id, function_name, function_version, created_at, status, body) VALUES (?, ?, ?, ?, ?, ?)
  ON CONFLICT(id) DO UPDATE SET status = excluded.status, function_version = excluded.function_version, body = excluded.body`;

export type ActivationRow = [id: string, functionName: string, functionVersion: number, createdAt: string, status: string, body: string];

export const activationRow = (r: ActivationRecord): ActivationRow => [r.id, r.functionName, r.functionVersion, r.createdAt, r.status, JSON.stringify(r)];
