// Which unprivileged host uid (and gid, the same number) each process sandbox
// runs as. Every sandbox gets one of its own, so that RLIMIT_NPROC, which the
// kernel counts per uid, is a pids limit for that sandbox alone, and no two
// sandboxes share file or signal rights. A platform process takes its ids from
// a block derived from its pid, so that two platforms (or invokers) on one
// host never hand out the same id, without a lock file between them.
import { NimbusError } from '../../shared/errors.ts';

/** First id of the range: far above ordinary users, /etc/subuid ranges and the container engine's 1.3e9 block. */
export const SANDBOX_ID_BASE = 1_400_000_000;
/** The kernel's largest possible pid (PID_MAX_LIMIT on 64-bit), whatever pid_max says now. */
const PID_LIMIT = 4_194_304;
/** Ids per platform process: as many as fit below 2^31 (Node's spawn takes an int32 uid). */
export const IDS_PER_PLATFORM = Math.floor((2 ** 31 - 1 - SANDBOX_ID_BASE) / PID_LIMIT);

const inUse = new Set<number>();
const blockStart = SANDBOX_ID_BASE + process.pid * IDS_PER_PLATFORM;

/** Takes a free id of this platform's block. */
export function takeSandboxId(): number {
  for (let slot = 0; slot < IDS_PER_PLATFORM; slot++) {
    const id = blockStart + slot;
    if (inUse.has(id)) continue;
    inUse.add(id);
    return id;
  }
  throw new NimbusError(
    'throttled',
    `all ${IDS_PER_PLATFORM} process-sandbox uids of this platform process are in use; delete sandboxes or lower maxSandboxes`,
  );
}

/** Gives an id back once nothing runs as it any more. */
export function releaseSandboxId(id: number): void {
  inUse.delete(id);
}

/** The platform pid whose block holds `uid`, or undefined when the uid is not a sandbox id. */
export function ownerOfSandboxId(uid: number): number | undefined {
  if (uid < SANDBOX_ID_BASE || uid >= SANDBOX_ID_BASE + (PID_LIMIT + 1) * IDS_PER_PLATFORM) return undefined;
  return Math.floor((uid - SANDBOX_ID_BASE) / IDS_PER_PLATFORM);
}

/** Whether the platform process `pid` runs (undefined: not a sandbox id, so not ours to remove). */
export function platformRuns(pid: number | undefined): boolean {
  if (pid === undefined) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
