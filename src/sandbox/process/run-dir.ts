// What a process sandbox may read of the host, gathered outside the data dir.
// The data dir is private to root (0700), and bubblewrap, running as the
// sandbox's own uid, can only bind what that uid may open; so the driver copies
// here what a sandbox needs: the guest agent (once per driver), and per sandbox
// a directory readable by that sandbox's gid alone, holding its /etc/passwd and
// /etc/group lines and, at create, a copy of its function's artifact. Copies,
// not file descriptors, because a prewarmed agent is spawned before it knows
// its function: its directory is bound at spawn and filled later.
import { chmod, chown, copyFile, cp, mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { platformRuns } from './identities.ts';
import { seccompFilter } from '../seccomp/filter.ts';

/** Where a sandbox sees the agent, and its function's directory. */
export const AGENT_INSIDE = '/nimbus/agent.cjs';
export const FUNCTION_INSIDE = '/nimbus/fn';
/** The system-call filter beside the agent (src/sandbox/seccomp/), when this host has one. */
export const SECCOMP_FILE = 'seccomp.bpf';
const PREFIX = 'nimbus-process-';

export class RunDir {
  private constructor(
    readonly dir: string,
    readonly agent: string,
  ) {}

  /** A fresh run directory for one driver: 0711, so sandbox uids pass but cannot list it. */
  static async create(agentPath: string): Promise<RunDir> {
    const dir = await mkdtemp(path.join(tmpdir(), `${PREFIX}${process.pid}-`));
    await chmod(dir, 0o711);
    const agent = path.join(dir, 'agent.cjs');
    await copyFile(agentPath, agent);
    await chmod(agent, 0o444);
    const filter = seccompFilter();
    if (filter) await writeFile(path.join(dir, SECCOMP_FILE), filter, { mode: 0o400 });
    return new RunDir(dir, agent);
  }

  slotDir(id: number): string {
    return path.join(this.dir, String(id));
  }

  /** The directory of the sandbox running as `id`: root-owned, group `id`, 0750. */
  async openSlot(id: number, extraFiles: Record<string, string> = {}): Promise<string> {
    const slot = this.slotDir(id);
    await rm(slot, { recursive: true, force: true });
    await mkdir(path.join(slot, 'fn'), { recursive: true });
    const files: Record<string, string> = {
      passwd: `root:x:0:0:root:/:/usr/sbin/nologin\nsandbox:x:${id}:${id}:nimbus sandbox:/tmp:/usr/sbin/nologin\n`,
      group: `root:x:0:\nsandbox:x:${id}:\n`,
      ...extraFiles,
    };
    for (const [name, text] of Object.entries(files)) await writeFile(path.join(slot, name), text, { mode: 0o444 });
    await chmod(path.join(slot, 'fn'), 0o750);
    await chown(path.join(slot, 'fn'), 0, id);
    await chmod(slot, 0o750);
    await chown(slot, 0, id);
    return slot;
  }

  /** Copies the function's artifact (a file, or a directory) into the slot; returns its path inside the sandbox. */
  async placeArtifact(id: number, artifactPath: string): Promise<string> {
    const name = path.basename(artifactPath);
    const dest = path.join(this.slotDir(id), 'fn', name);
    if ((await stat(artifactPath)).isDirectory()) {
      await cp(artifactPath, dest, { recursive: true, verbatimSymlinks: true });
      await readableByAll(dest);
    } else {
      await copyFile(artifactPath, dest);
      await chmod(dest, 0o444);
    }
    return path.posix.join(FUNCTION_INSIDE, name);
  }

  async closeSlot(id: number): Promise<void> {
    await rm(this.slotDir(id), { recursive: true, force: true });
  }

  async remove(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }

  /** Removes run directories that platforms no longer running left behind. */
  static async removeLeftovers(): Promise<void> {
    for (const name of await readdir(tmpdir()).catch(() => [] as string[])) {
      const pid = Number(/^nimbus-process-(\d+)-/.exec(name)?.[1]);
      if (pid && pid !== process.pid && !platformRuns(pid))
        await rm(path.join(tmpdir(), name), { recursive: true, force: true });
    }
  }
}

/** Files 0444, directories 0555: the sandbox reads its copy whatever modes the source had. */
async function readableByAll(dir: string): Promise<void> {
  await chmod(dir, 0o555);
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isSymbolicLink()) continue;
    await chmod(path.join(entry.parentPath, entry.name), entry.isDirectory() ? 0o555 : 0o444);
  }
}
