// What GET /v1/sandboxes lists for a sandbox in standby (saved to disk and
// stopped): the fields of a running sandbox, so that clients list both alike.
import type { StandbySandbox } from '../sandbox/driver.ts';

/** A standby sandbox as GET /v1/sandboxes lists it. */
export interface StandbyInfo {
  id: string;
  engine: 'microvm';
  functionName: string;
  functionVersion: number;
  state: 'standby';
  memoryMb: number;
  cpus: number;
  /** Disk its saved state takes, bytes. */
  diskBytes: number;
  since: string;
  /** The fields a running sandbox has, so that clients list both alike (nothing runs: lastUsed is when it stopped). */
  createdAt: string;
  inflight: 0;
  calls: 0;
  lastUsed: string;
  details: Record<string, unknown>;
  invoker: string;
}

/** How GET /v1/sandboxes lists a sandbox an invoker holds in standby. */
export function standbyInfo(s: StandbySandbox, invoker: string): StandbyInfo {
  return {
    id: s.id,
    engine: 'microvm',
    functionName: s.spec.functionName,
    functionVersion: s.spec.functionVersion,
    state: 'standby',
    memoryMb: s.spec.memoryMb,
    cpus: s.spec.cpus,
    diskBytes: s.diskBytes,
    since: s.since,
    createdAt: s.createdAt,
    inflight: 0,
    calls: 0,
    lastUsed: s.since,
    details: {},
    invoker,
  };
}
