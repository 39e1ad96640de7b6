// Creates and probes the sandbox drivers an invoker uses, once each, from the
// static registry; remembers why an engine is unavailable. At platform start it
// sweeps every engine's leftovers of killed platforms, used or not, without
// probing (which would start sandboxes): each engine's cleanup keeps what a
// live owner holds (data-dir-owners.ts for the engines scoped by data dir).
import { DRIVER_FACTORIES } from '../sandbox/registry.ts';
import type { DriverAvailability, DriverContext, EngineKind, SandboxDriver } from '../sandbox/driver.ts';
import { ENGINE_KINDS } from '../sandbox/driver.ts';
import { NimbusError } from '../shared/errors.ts';
import { claimDataDir, otherLiveOwners } from './data-dir-owners.ts';

/** Engines whose leftovers are named by data directory, not by owner pid. */
const DATA_DIR_SCOPED: ReadonlySet<EngineKind> = new Set(['container', 'microvm']);

export class DriverSet {
  private readonly drivers = new Map<
    EngineKind,
    Promise<{ driver?: SandboxDriver; availability: DriverAvailability }>
  >();

  /** Driver instances, made before probing so that the start sweep and later use share one (it knows what is its own). */
  private readonly instances = new Map<EngineKind, Promise<SandboxDriver | undefined>>();
  private release: (() => Promise<void>) | undefined;

  constructor(private readonly ctx: DriverContext) {}

  private instance(kind: EngineKind): Promise<SandboxDriver | undefined> {
    let entry = this.instances.get(kind);
    if (!entry) {
      const factory = DRIVER_FACTORIES[kind];
      entry = (async () => (factory ? factory(this.ctx) : undefined))();
      this.instances.set(kind, entry);
    }
    return entry;
  }

  /** The driver's cleanup, unless its leftovers are named by data dir and another live platform uses this one. */
  private async cleanup(kind: EngineKind, driver: SandboxDriver): Promise<void> {
    if (!driver.cleanupLeftovers) return;
    if (DATA_DIR_SCOPED.has(kind)) {
      const others = await otherLiveOwners(this.ctx.dataDir);
      if (others.length) {
        this.ctx.log(
          'warn',
          `not removing ${kind} leftovers: another live platform (pid ${others.join(', ')}) uses the data directory ${this.ctx.dataDir}; give each platform its own --data-dir`,
        );
        return;
      }
    }
    await driver.cleanupLeftovers();
  }

  /**
   * At platform start: marks the data directory as this platform's, then removes
   * every engine's leftovers of killed platforms. Returns per engine "swept" or why not.
   */
  async sweepLeftovers(): Promise<Record<EngineKind, string>> {
    this.release ??= await claimDataDir(this.ctx.dataDir);
    const swept = await Promise.all(
      ENGINE_KINDS.map(async (kind) => {
        try {
          const driver = await this.instance(kind);
          if (driver) await this.cleanup(kind, driver);
          return [kind, driver ? 'swept' : 'not built in'] as const;
        } catch (e) {
          this.ctx.log('warn', `could not remove the ${kind} engine's leftovers: ${(e as Error).message}`);
          return [kind, (e as Error).message] as const;
        }
      }),
    );
    return Object.fromEntries(swept) as Record<EngineKind, string>;
  }

  private load(kind: EngineKind) {
    let entry = this.drivers.get(kind);
    if (!entry) {
      entry = (async () => {
        try {
          const driver = await this.instance(kind);
          if (!driver)
            return { availability: { available: false, reason: `the ${kind} engine is not built into this nimbus` } };
          const availability = await driver.probe();
          if (availability.available) await this.cleanup(kind, driver);
          return { driver, availability };
        } catch (e) {
          return {
            availability: { available: false, reason: `the ${kind} engine failed to start: ${(e as Error).message}` },
          };
        }
      })();
      this.drivers.set(kind, entry);
    }
    return entry;
  }

  async get(kind: EngineKind): Promise<SandboxDriver> {
    const { driver, availability } = await this.load(kind);
    if (!driver || !availability.available) {
      throw new NimbusError('unavailable', `engine "${kind}" is not available on this invoker: ${availability.reason}`);
    }
    return driver;
  }

  /** Every engine with its availability and capabilities (for `nimbus doctor`). */
  async report(): Promise<Record<EngineKind, DriverAvailability & { capabilities?: SandboxDriver['capabilities'] }>> {
    const out = {} as Record<EngineKind, DriverAvailability & { capabilities?: SandboxDriver['capabilities'] }>;
    for (const kind of ENGINE_KINDS) {
      const { driver, availability } = await this.load(kind);
      out[kind] = { ...availability, capabilities: driver?.capabilities };
    }
    return out;
  }

  /** A function was deleted: every driver made so far removes what it keeps of it on disk. */
  async forgetFunction(name: string): Promise<void> {
    const drivers = await Promise.all([...this.instances.values()].map((d) => d.catch(() => undefined)));
    await Promise.all(drivers.map((d) => d?.forgetFunction?.(name)));
  }

  async dispose(): Promise<void> {
    await Promise.all([...this.drivers.values()]);
    for (const entry of this.instances.values()) {
      const driver = await entry.catch(() => undefined);
      await driver?.dispose().catch(() => undefined);
    }
    this.drivers.clear();
    this.instances.clear();
    await this.release?.();
    this.release = undefined;
  }
}
