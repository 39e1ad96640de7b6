// Builds deployed code into artifacts, each build in a fresh sandboxed worker
// (build-worker.ts) with a time and a memory limit, outside the platform
// process: a bundler crash, a hang or a memory blow-up fails only that deploy
// (a 400), and the next deploy gets a new worker. After the first deploy one
// worker is kept started ahead (warm), so that a deploy does not wait for Node
// and esbuild to start; it still serves one upload only. At most `parallel`
// builds run at once; each has its own unprivileged uid.
import os from 'node:os';
import { NimbusError } from '../../shared/errors.ts';
import { BuildWorker } from './build-worker.ts';
import { removeLeftovers } from './leftovers.ts';
import { readOutcome, type Bundle } from './outcome.ts';
import { findBuildTools, type BuildTools } from './sandbox-command.ts';
import type { BuildRequest, Language } from './worker/protocol.ts';

/** Host uids of builds: BUILD_UID_BASE + slot, far from ordinary users, subuid ranges and the other engines' ids. */
export const BUILD_UID_BASE = 1_200_000_000;

/** Workers this process started, across its platforms: names their cgroups uniquely. */
let workersStarted = 0;

export interface BuilderOptions {
  timeoutMs: number;
  memoryMb: number;
  /** Largest artifact, bytes. */
  maxOutputBytes: number;
  parallel?: number;
}

export class Builder {
  private readonly tools: BuildTools | string;
  private readonly asRoot = process.getuid?.() === 0;
  private readonly parallel: number;
  private readonly freeSlots: number[];
  private readonly waiting: (() => void)[] = [];
  private readonly live = new Set<BuildWorker>();
  private warm: { worker: Promise<BuildWorker>; slot: number } | undefined;
  private running = 0;
  private closed = false;

  constructor(private readonly o: BuilderOptions) {
    this.tools = findBuildTools(this.asRoot);
    void removeLeftovers().catch(() => undefined);
    this.parallel = o.parallel ?? Math.max(1, Math.min(4, os.cpus().length));
    // One slot more than builds at once: the warm worker's.
    this.freeSlots = Array.from({ length: this.parallel + 1 }, (_, i) => i);
  }

  /** One source file; without a language, JavaScript is tried, then TypeScript. */
  source(source: string, language?: Language): Promise<Bundle> {
    return this.build(async (w) => {
      await w.emptyUpload();
      return { kind: 'source', source, ...(language ? { language } : {}) };
    });
  }

  /** An unpacked upload (moved into the worker's workspace) and its entry, relative to it. */
  directory(dir: string, entry: string): Promise<Bundle> {
    return this.build(async (w) => {
      await w.adopt(dir);
      return { kind: 'entry', entry };
    });
  }

  private async build(request: (w: BuildWorker) => Promise<BuildRequest>): Promise<Bundle> {
    if (typeof this.tools === 'string')
      throw new NimbusError('unavailable', `deploys cannot be built here: ${this.tools}`);
    if (this.closed) throw new NimbusError('unavailable', 'the platform is shutting down');
    await this.turn();
    let slot: number | undefined;
    let worker: BuildWorker | undefined;
    try {
      ({ worker, slot } = await this.takeWorker());
      const outcome = await worker.run(await request(worker), this.o.timeoutMs, this.o.maxOutputBytes);
      return readOutcome(outcome, this.o);
    } finally {
      if (worker) await this.retire(worker);
      if (slot !== undefined) this.freeSlots.push(slot);
      if (!this.closed && !this.warm) this.warmUp();
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }

  /** Waits until fewer than `parallel` builds run; a finishing build hands its turn straight to the next. */
  private async turn(): Promise<void> {
    if (this.running < this.parallel) {
      this.running++;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  private async takeWorker(): Promise<{ worker: BuildWorker; slot: number }> {
    const warm = this.warm;
    this.warm = undefined;
    // The next deploy's worker starts while this one builds.
    if (warm) this.warmUp();
    const slot = warm ? warm.slot : (this.freeSlots.shift() ?? 0);
    try {
      const ready = warm ? await warm.worker : undefined;
      if (ready?.alive) return { worker: ready, slot };
      // A warm worker that died while it waited is replaced.
      if (ready) await this.retire(ready);
      return { worker: await this.startWorker(slot), slot };
    } catch (e) {
      this.freeSlots.push(slot);
      throw e;
    }
  }

  private async startWorker(slot: number): Promise<BuildWorker> {
    const w = await BuildWorker.start({
      tools: this.tools as BuildTools,
      memoryMb: this.o.memoryMb,
      name: `${process.pid}-${++workersStarted}`,
      ...(this.asRoot ? { uid: BUILD_UID_BASE + slot } : {}),
    });
    this.live.add(w);
    return w;
  }

  private warmUp(): void {
    if (this.closed) return;
    const slot = this.freeSlots.shift();
    if (slot === undefined) return;
    const worker = this.startWorker(slot);
    worker.catch(() => undefined);
    this.warm = { worker, slot };
  }

  private async retire(w: BuildWorker): Promise<void> {
    this.live.delete(w);
    await w.dispose();
  }

  /** Stops the warm worker and any build still running. */
  async close(): Promise<void> {
    this.closed = true;
    const warm = this.warm;
    this.warm = undefined;
    if (warm)
      await warm.worker.then(
        (w) => this.retire(w),
        () => undefined,
      );
    await Promise.all([...this.live].map((w) => this.retire(w)));
  }
}
