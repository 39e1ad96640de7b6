// The API's answers as the dashboard reads them (a subset of each; see DESIGN.md section 4).
// Records come from the host's own types (type-only imports: nothing of the host is bundled).
import type { ActivationRecord } from '../storage/store.ts';

export interface FunctionInfo {
  name: string;
  namespace: string;
  version: number;
  kind?: string;
  config: Record<string, unknown> & { engine?: string; runtime?: string; memoryMb?: number; timeoutMs?: number };
  artifact?: { sha256: string; bytes: number };
  createdAt: string;
  firstDeployedAt?: string;
}

/** An activation record as the API shows it: the bare function name, and its namespace. */
export type Activation = ActivationRecord & { namespace: string };

export interface VersionInfo {
  version: number;
  sha256: string;
  bytes: number;
  config: Record<string, unknown>;
  createdAt: string;
  current: boolean;
  aliases: string[];
}

export interface AliasInfo {
  alias: string;
  version: number;
  weights?: Record<string, number>;
  updatedAt?: string;
}

export interface TriggerInfo {
  name: string;
  type: string;
  function: string;
  schedule?: string;
  timezone?: string;
  topic?: string;
  createdAt: string;
}

/** Statuses that are final; the rest (queued, running) are still under way. */
export const FAILED = ['error', 'timeout', 'memory_exhausted', 'crashed', 'result_too_large', 'dead_letter'];

export function statusClass(status: string): string {
  return status === 'success' ? 'ok' : FAILED.includes(status) ? 'bad' : '';
}
