// The API's answers as the dashboard reads them (a subset of each; see DESIGN.md section 4).

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

export interface Activation {
  id: string;
  functionName: string;
  functionVersion: number;
  namespace: string;
  engine: string;
  trigger: string;
  status: string;
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
  error: { name?: string; message?: string; stack?: string; code?: string } | null;
  logs: string;
  logsTruncated: boolean;
  maxMemoryMb: number | null;
  gbSeconds: number | null;
  alias?: string;
  parentActivationId?: string;
  childActivationIds?: string[];
  engineDetails?: Record<string, string>;
}

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
