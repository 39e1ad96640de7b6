// Prewarmed "stem cell" containers (as OpenWhisk keeps them): for each recently
// used profile (memory size and network choice) one container already runs the
// agent, waiting for a function. A cold start then only places the function's
// file in /var/task, renames the bundle to the sandbox's id, adjusts the CPU
// quota if it differs, and sends init: runc and node's start are already paid.
// The function's env reaches it with the init message, as with process stems.
import { randomUUID } from 'node:crypto';
import type { ContainerProfile, Launched } from './launcher.ts';

/** Profiles for which a stem cell is kept (most recently used). */
const STEM_PROFILES = 2;

function keyOf(p: ContainerProfile): string {
  return `${p.memoryMb}:${p.network ? 'net' : 'nonet'}`;
}

export class StemCells {
  private readonly stems = new Map<string, Promise<Launched | undefined>>();
  private disposed = false;

  constructor(private readonly start: (name: string, profile: ContainerProfile) => Promise<Launched>) {}

  /** The stem cell for this profile, if one is (or is about to be) running. */
  async take(profile: ContainerProfile): Promise<Launched | undefined> {
    const key = keyOf(profile);
    const pending = this.stems.get(key);
    this.stems.delete(key);
    const stem = await pending;
    if (stem?.proc.running) return stem;
    if (stem) await stem.proc.kill();
    return undefined;
  }

  /** Starts a stem cell for this profile in the background, dropping the least recently used profile's. */
  refill(profile: ContainerProfile): void {
    if (this.disposed) return;
    const key = keyOf(profile);
    const previous = this.stems.get(key);
    this.stems.delete(key);
    if (previous) void previous.then((stem) => stem?.proc.kill());
    this.stems.set(
      key,
      this.start(`stem-${randomUUID().slice(0, 12)}`, profile).catch(() => undefined),
    );
    for (const [oldKey, stem] of this.stems) {
      if (this.stems.size <= STEM_PROFILES) break;
      this.stems.delete(oldKey);
      void stem.then((s) => s?.proc.kill());
    }
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    const stems = [...this.stems.values()];
    this.stems.clear();
    await Promise.all(stems.map(async (p) => (await p)?.proc.kill()));
  }
}
