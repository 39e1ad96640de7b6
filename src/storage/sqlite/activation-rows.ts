// How an activation record is stored in SQLite: the upsert and its row of
// parameters, shared by the store's own connection and the writer thread.
import type { ActivationRecord } from '../store.ts';

const COLUMNS = '(id, function_name, function_version, created_at, status, body)';
const ON_CONFLICT = 'ON CONFLICT(id) DO UPDATE SET status = excluded.status, function_version = excluded.function_version, body = excluded.body';

/** The upsert of `rows` records in one statement (one row by default). */
export function activationUpsert(rows = 1): string {
  return `INSERT INTO activations ${COLUMNS} VALUES ${Array(rows).fill('(?, ?, ?, ?, ?, ?)').join(', ')}\n  ${ON_CONFLICT}`;
}

export const ACTIVATION_UPSERT = activationUpsert();

export type ActivationRow = [id: string, functionName: string, functionVersion: number, createdAt: string, status: string, body: string];

export const activationRow = (r: ActivationRecord): ActivationRow => [r.id, r.functionName, r.functionVersion, r.createdAt, r.status, JSON.stringify(r)];
