// The static registry of sandbox drivers: one entry per engine kind. Drivers are
// created lazily, once per platform instance, and probed before use.
import type { DriverContext, EngineKind, SandboxDriver } from './driver.ts';
import { ProcessDriver } from './process/driver.ts';
import { ContainerDriver } from './container/driver.ts';
import { IsolateDriver } from './isolate/driver.ts';

type DriverFactory = (ctx: DriverContext) => SandboxDriver | Promise<SandboxDriver>;

export const DRIVER_FACTORIES: Record<EngineKind, DriverFactory | undefined> = {
  process: (ctx) => new ProcessDriver(ctx),
  isolate: (ctx) => new IsolateDriver(ctx),
  container: (ctx) => new ContainerDriver(ctx),
  microvm: async (ctx) => new (await import('./microvm/driver.ts')).MicrovmDriver(ctx),
};
