// Function snapshots (issue 18): a microVM saved after its function has loaded
// and run its module top level, so that later cold starts of that function
// version restore it instead of paying boot, load and init again. A snapshot
// is two files under <dataDir>/microvm/function-snapshots (0700, files 0600:
// they hold the function's memory, secrets included): <name>.ram, the guest's
// RAM (sparse: only touched pages take disk), and <name>.vmstate, the devices
// (saved with x-ignore-shared, so no RAM is in it). A restore maps the RAM
// file private (copy-on-write: no guest ever writes the file, and many
// restore one snapshot at once), so restoring reads only the pages the guest
// touches. The name is a hash of the function's qualified name, then a hash of
// everything the memory depends on: version, code hash, handler, environment
// (secrets included), and the machine (qemu-args.ts machineKey); a snapshot of
// one function is never restored for another, and a deploy (new version,
// code or secrets) misses the old one. Bounded on disk: past capBytes the
// least recently restored go (a VM still running from a deleted file keeps
// its mapping). forget() deletes a function's snapshots.
import { createHash } from 'node:crypto';
import { chmod, mkdir, open, readdir, rename, rm, stat, utimes } from 'node:fs/promises';
import path from 'node:path';
import type { SandboxSpec } from '../driver.ts';
import { machineKey, type VmConfig } from './qemu-args.ts';

export interface FunctionSnapshot {
  key: string;
  ram: string;
  state: string;
}

const sha = (text: string, length: number) => createHash('sha256').update(text).digest('hex').slice(0, length);

/** The file prefix of one function's snapshots (and standby states). */
export function functionTag(functionName: string): string {
  return sha(`function:${functionName}`, 16);
}

/** Disk a file takes (sparse files count their written blocks only). */
export async function diskBytes(file: string): Promise<number> {
  const s = await stat(file).catch(() => undefined);
  return s ? s.blocks * 512 : 0;
}

/** A private directory (0700) for files that hold guests' memory. */
export async function privateDir(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  return dir;
}

/** Deletes the files in `dir` that belong to one function; returns how many. */
export async function removeFunctionFiles(dir: string, functionName: string): Promise<number> {
  const prefix = `${functionTag(functionName)}-`;
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => n.startsWith(prefix));
  await Promise.all(names.map((n) => rm(path.join(dir, n), { force: true })));
  return names.length;
}

export class FunctionSnapshotStore {
  private readonly making = new Map<string, Promise<void>>();
  /** How often each function was forgotten: a sandbox started before its function was deleted makes no snapshot of it. */
  private readonly forgotten = new Map<string, number>();

  constructor(
    readonly dir: string,
    private readonly capBytes: number,
    private readonly log: (msg: string) => void,
  ) {}

  /** The name of the snapshot of `spec` on `config`'s machine. */
  nameFor(spec: SandboxSpec, config: VmConfig): string {
    const parts = {
      version: spec.functionVersion,
      code: spec.artifactSha256,
      handler: spec.handler ?? null,
      env: Object.entries(spec.env).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
      machine: machineKey(config),
    };
    return `${functionTag(spec.functionName)}-${sha(JSON.stringify(parts), 24)}`;
  }

  /** The snapshot of `spec`, if one is saved (marked as used, for the LRU). */
  async find(spec: SandboxSpec, config: VmConfig): Promise<FunctionSnapshot | undefined> {
    const key = this.nameFor(spec, config);
    const snap = this.files(key);
    const now = new Date();
    try {
      await utimes(snap.state, now, now);
      await stat(snap.ram);
      return snap;
    } catch {
      return undefined;
    }
  }

  /**
   * Makes the snapshot of `spec` in the background unless it exists or is
   * being made. `save(ram, state)` runs a VM whose RAM is `ram` (mapped
   * shared, created empty here, 0600), loads the function and saves the
   * VM's devices to `state`.
   */
  makeInBackground(
    spec: SandboxSpec,
    config: VmConfig,
    save: (ram: string, state: string) => Promise<void>,
    generation: number,
  ): Promise<void> | undefined {
    // The function was deleted while this sandbox started: its snapshot would outlive it on disk.
    if (generation !== this.generation(spec.functionName)) return undefined;
    const key = this.nameFor(spec, config);
    if (this.making.has(key)) return this.making.get(key);
    const made = this.make(key, save)
      .catch((e: unknown) => this.log(`microvm: no function snapshot for ${spec.functionName}: ${String(e)}`))
      .finally(() => this.making.delete(key));
    this.making.set(key, made);
    return made;
  }

  /** Pass to makeInBackground: taken when a sandbox starts to load, it tells whether the function was deleted since. */
  generation(functionName: string): number {
    return this.forgotten.get(functionName) ?? 0;
  }

  /** Snapshots being made now (tests and dispose wait for them). */
  async settled(): Promise<void> {
    await Promise.all([...this.making.values()]);
  }

  /** Deletes every snapshot of a function (it was deleted), once those being made are saved; returns how many files went. */
  async forget(functionName: string): Promise<number> {
    this.forgotten.set(functionName, this.generation(functionName) + 1);
    await this.settled();
    return removeFunctionFiles(this.dir, functionName);
  }

  private files(key: string): FunctionSnapshot {
    return { key, ram: path.join(this.dir, `${key}.ram`), state: path.join(this.dir, `${key}.vmstate`) };
  }

  private async make(key: string, save: (ram: string, state: string) => Promise<void>): Promise<void> {
    const snap = this.files(key);
    if (
      await stat(snap.state).then(
        () => true,
        () => false,
      )
    )
      return;
    await privateDir(this.dir);
    const ramTmp = `${snap.ram}.${process.pid}.tmp`;
    await (await open(ramTmp, 'w', 0o600)).close();
    try {
      await save(ramTmp, snap.state);
      await rename(ramTmp, snap.ram);
    } catch (e) {
      await rm(snap.state, { force: true });
      throw e;
    } finally {
      await rm(ramTmp, { force: true });
    }
    await this.enforceCap();
  }

  /** Removes the least recently used snapshots until the rest fit in capBytes. */
  async enforceCap(): Promise<void> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    const snaps: { key: string; used: number; bytes: number }[] = [];
    for (const name of names) {
      if (!name.endsWith('.vmstate')) continue;
      const key = name.slice(0, -'.vmstate'.length);
      const f = this.files(key);
      const used = (await stat(f.state).catch(() => undefined))?.mtimeMs ?? 0;
      snaps.push({ key, used, bytes: (await diskBytes(f.state)) + (await diskBytes(f.ram)) });
    }
    let total = snaps.reduce((sum, s) => sum + s.bytes, 0);
    for (const s of snaps.sort((a, b) => a.used - b.used)) {
      if (total <= this.capBytes) break;
      const f = this.files(s.key);
      await rm(f.state, { force: true });
      await rm(f.ram, { force: true });
      total -= s.bytes;
      this.log(`microvm: function snapshot ${s.key} removed (snapshots over their ${this.capBytes} byte cap)`);
    }
  }
}
