// Saved VM states to start sandboxes from: one per machine configuration
// (image, accelerator, memory, CPUs, network), made by booting a VM once to a
// ready agent that has no function yet, and saving it with QEMU's migration
// stream. Kept in <dataDir>/images/<image>/snapshots/<key>.vmstate and in the
// machine cache (snapshots/<image>/<key>.vmstate). Every sandbox of that configuration restores from it.
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { exists, linkOrCopy, sharedCacheDir } from './image/shared-cache.ts';
import { machineKey, type VmConfig } from './qemu-args.ts';
import { bootVm, saveVm } from './vm-start.ts';

export interface SnapshotState {
  key: string;
  file: string;
  /** Set when this call made the snapshot: how long the template VM took to boot to a ready agent. */
  bootMs?: number;
}

const SAVE_TIMEOUT_MS = 120_000;

export class SnapshotStore {
  private readonly making = new Map<string, Promise<SnapshotState>>();

  constructor(
    private readonly dataDir: string,
    private readonly runDirFor: (name: string) => string,
    private readonly bootTimeoutMs: number,
  ) {}

  /** The saved state for `config`, made now if there is none. */
  stateFor(config: VmConfig): Promise<SnapshotState> {
    const key = machineKey(config);
    let pending = this.making.get(key);
    if (!pending) {
      pending = this.find(key, config).finally(() => this.making.delete(key));
      this.making.set(key, pending);
    }
    return pending;
  }

  /** Forgets a state that failed to restore (made by another QEMU, or damaged). */
  async discard(config: VmConfig, state: SnapshotState): Promise<void> {
    await rm(state.file, { force: true });
    const shared = this.sharedFile(config, state.key);
    if (shared) await rm(shared, { force: true });
  }

  private fileFor(config: VmConfig, key: string): string {
    return path.join(this.dataDir, 'images', config.image.hash, 'snapshots', `${key}.vmstate`);
  }

  private sharedFile(config: VmConfig, key: string): string | undefined {
    const shared = sharedCacheDir();
    return shared ? path.join(shared, 'snapshots', config.image.hash, `${key}.vmstate`) : undefined;
  }

  private async find(key: string, config: VmConfig): Promise<SnapshotState> {
    const file = this.fileFor(config, key);
    if (await exists(file)) return { key, file };
    const shared = this.sharedFile(config, key);
    if (shared && (await exists(shared))) {
      await linkOrCopy(shared, file);
      return { key, file };
    }
    await mkdir(path.dirname(file), { recursive: true });
    const { vm, readyMs } = await bootVm(
      config,
      this.runDirFor(`template-${key}`),
      `template-${key}`,
      this.bootTimeoutMs,
    );
    try {
      await saveVm(vm, file, SAVE_TIMEOUT_MS);
    } finally {
      await vm.kill();
    }
    if (shared) await linkOrCopy(file, shared).catch(() => undefined);
    return { key, file, bootMs: readyMs };
  }
}
