// Builders of activation records, queue entries and function configs for the
// storage conformance suite: valid values with the fields a case cares about.
import { createHash, randomUUID } from 'node:crypto';
import type { ActivationRecord, FunctionConfig, QueueEntry } from '../../src/storage/store.ts';

export const config = (over: Partial<FunctionConfig> = {}): FunctionConfig => ({
  runtime: 'nodejs',
  language: 'javascript',
  engine: 'process',
  memoryMb: 256,
  timeoutMs: 3000,
  concurrency: 1,
  minSandboxes: 0,
  maxSandboxes: 10,
  network: false,
  env: {},
  ...over,
});

export function artifact(text: string): { sha: string; bytes: Buffer } {
  const bytes = Buffer.from(text);
  return { sha: createHash('sha256').update(bytes).digest('hex'), bytes };
}

export const newId = () => randomUUID().replace(/-/g, '');

export function activation(over: Partial<ActivationRecord> = {}): ActivationRecord {
  return {
    id: newId(),
    functionName: 'f',
    functionVersion: 1,
    engine: 'process',
    trigger: 'sync',
    status: 'success',
    cold: true,
    invoker: 'i1',
    sandboxId: 'sb-1',
    attempts: 1,
    queuedMs: 1,
    initMs: 2,
    runMs: 3,
    createdAt: new Date().toISOString(),
    startedAt: null,
    endedAt: null,
    result: { ok: true },
    error: null,
    logs: '',
    logsTruncated: false,
    maxMemoryMb: 40,
    gbSeconds: 0.001,
    ...over,
  };
}

export function entry(record: ActivationRecord, over: Partial<QueueEntry> = {}): QueueEntry {
  return {
    activationId: record.id,
    functionName: record.functionName,
    input: { kind: 'event', event: { n: 1 } },
    attempts: 0,
    maxAttempts: 3,
    runAt: Date.now(),
    idempotencyKey: null,
    state: 'pending',
    ...over,
  };
}
