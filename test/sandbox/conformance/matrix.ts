// The driver matrix behind the conformance suite: every engine in the static
// registry (src/sandbox/registry.ts) is built as the platform builds it (temp
// data dir, bundled guest agent, probe, leftovers cleanup) and gets its own
// `describe` block; a driver whose probe says the host cannot run it is
// skipped as a whole, with the probe's reason.
import { after, afterEach, describe, it } from 'node:test';
import { DRIVER_FACTORIES } from '../../../src/sandbox/registry.ts';
import { ENGINE_KINDS, type DriverContext, type EngineKind, type SandboxDriver } from '../../../src/sandbox/driver.ts';
import { bundledAgent } from '../../helpers/agent.ts';
import { createTempDir } from '../../helpers/temp.ts';
import { SandboxKit } from './kit.ts';

/** How many times slower than a process an engine may be (microvm: TCG emulates every instruction). */
const SLOWNESS: Record<EngineKind, number> = { process: 1, isolate: 1, container: 2, microvm: 20 };

/**
 * Engines whose functions run on Node, with its whole `process` (exit, child
 * processes); the isolate engine's `process` holds only `env`
 * (src/guest/isolate-runtime.guest.ts).
 */
const NODE_ENGINES: ReadonlySet<EngineKind> = new Set(['process', 'container', 'microvm']);

export interface DriverUnderTest {
  kind: EngineKind;
  driver: SandboxDriver;
  dataDir: string;
  slowness: number;
  /** Whether functions run on Node (process.exit, child processes) rather than in a V8 isolate. */
  node: boolean;
  /** Scales a time budget in ms by the engine's slowness. */
  ms(base: number): number;
  /** Creates sandboxes for this driver; whatever a case leaves is disposed after it. */
  kit: SandboxKit;
}

/**
 * NIMBUS_REQUIRE_ENGINES (comma-separated kinds, or "all"): engines a host must
 * run, such as the project's CI machines; there an unavailable one fails
 * instead of being skipped, so a broken probe cannot hide a driver.
 */
function required(kind: EngineKind): boolean {
  const list = (process.env.NIMBUS_REQUIRE_ENGINES ?? '').split(',').map((s) => s.trim());
  return list.includes('all') || list.includes(kind);
}

type DriverFactory = NonNullable<(typeof DRIVER_FACTORIES)[EngineKind]>;
type Loaded = { driver: SandboxDriver; unavailable?: string } | { error: unknown };

function contextLog(kind: EngineKind): DriverContext['log'] {
  const verbose = Boolean(process.env.NIMBUS_TEST_LOG);
  return (level, msg, extra) => {
    if (verbose || level === 'warn' || level === 'error') console.error(`[${kind} ${level}] ${msg}`, extra ?? '');
  };
}

async function load(kind: EngineKind, factory: DriverFactory, ctx: DriverContext): Promise<Loaded> {
  try {
    const driver = await factory(ctx);
    const availability = await driver.probe();
    if (!availability.available) {
      await driver.dispose();
      const reason = `${kind} unavailable on this host: ${availability.reason}`;
      if (required(kind)) return { error: new Error(`${reason} (NIMBUS_REQUIRE_ENGINES says this host must run it)`) };
      return { driver, unavailable: reason };
    }
    await driver.cleanupLeftovers?.();
    return { driver };
  } catch (error) {
    return { error };
  }
}

/**
 * Declares `body`'s cases once per registered driver. Call it at a test file's
 * top level with `await`, after the file's other awaits: drivers are built and
 * probed first (so that an unavailable one is reported as one skipped block),
 * then every block is declared at once, because the file's `after` hooks run
 * as soon as the blocks declared so far are done.
 */
export async function forEachDriver(body: (d: DriverUnderTest) => void): Promise<void> {
  const agentPath = await bundledAgent();
  const drivers: { kind: EngineKind; dataDir: string; loaded: Loaded }[] = [];
  for (const kind of ENGINE_KINDS) {
    const factory = DRIVER_FACTORIES[kind];
    if (!factory) continue; // not built yet: nothing to hold to the contract
    // 0755, as the platform's own mkdir makes its data dir (engines may check that sandbox users can pass).
    const dataDir = await createTempDir(`nimbus-conformance-${kind}`, 0o755);
    drivers.push({
      kind,
      dataDir,
      // Function snapshots off: they are made by a VM of their own in the background (tested in
      // microvm-snapshots.test.ts), which would still be at work when a case checks that its sandbox left nothing.
      loaded: await load(kind, factory, {
        dataDir,
        agentPath,
        log: contextLog(kind),
        egress: { allow: [] },
        microvmFunctionSnapshots: false,
      }),
    });
  }
  for (const { kind, dataDir, loaded } of drivers) {
    const skip = 'driver' in loaded ? (loaded.unavailable ?? false) : false;
    describe(`${kind} driver`, { skip }, () => {
      if ('error' in loaded) {
        it('constructs and probes', () => {
          throw loaded.error;
        });
        return;
      }
      const slowness = SLOWNESS[kind];
      const ms = (base: number) => base * slowness;
      const kit = new SandboxKit(loaded.driver, ms);
      afterEach(() => kit.disposeAll());
      after(() => loaded.driver.dispose());
      body({ kind, driver: loaded.driver, dataDir, slowness, node: NODE_ENGINES.has(kind), ms, kit });
    });
  }
}
