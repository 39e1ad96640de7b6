// Creates and probes the sandbox drivers an invoker uses, once each, from the
// static registry; remembers why an engine is unavailable.
import { DRIVER_FACTORIES } from '../sandbox/registry.ts';
import type { DriverAvailability, DriverContext, EngineKind, SandboxDriver } from '../sandbox/driver.ts';
import { ENGINE_KINDS } from '../sandbox/driver.ts';
import { NimbusError } from '../shared/errors.ts';

export class DriverSet {
  private readonly drivers = new Map<EngineKind, Promise<{ driver?: SandboxDriver; availability: DriverAvailability }>>();

  constructor(private readonly ctx: DriverContext) {}

  private load(kind: EngineKind) {
    let entry = this.drivers.get(kind);
    if (!entry) {
      entry = (async () => {
        const factory = DRIVER_FACTORIES[kind];
        if (!factory) return { availability: { available: false, reason: `the ${kind} engine is not built into this nimbus` } };
        try {
          const driver = await factory(this.ctx);
          const availability = await driver.probe();
          if (availability.available) await driver.cleanupLeftovers?.();
          return { driver, availability };
        } catch (e) {
          return { availability: { available: false, reason: `the ${kind} engine failed to start: ${(e as Error).message}` } };
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

  async dispose(): Promise<void> {
    for (const entry of this.drivers.values()) {
      const { driver } = await entry;
      await driver?.dispose().catch(() => undefined);
    }
    this.drivers.clear();
  }
}
