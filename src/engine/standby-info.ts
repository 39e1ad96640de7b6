// What GET /v1/sandboxes lists for a sandbox in standby (saved to disk and
// stopped): the fields of a running sandbox, so that clients list both alike.

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
