// `nimbus invoker`: a cluster execution node. Runs an invoker (warm pools,
// sandboxes) that answers runs on the bus, heartbeats its load into the
// invoker registry, and consumes the async queue; no HTTP. Stops cleanly on a
// signal: says goodbye, finishes its runs, hands back queued messages.
import os from 'node:os';
import type { Command } from 'commander';
import { startPlatform } from '../platform.ts';
import { CliError } from './client.ts';
import { CAPS_FLAGS, capsOptions, clusterOptions, redact, type CapsOpts } from './serve.ts';
import { closeOnSignals } from './shutdown.ts';
import { addEgressFlag, egressOptions, type EgressOpts } from './egress-flag.ts';
import { addRetentionFlags, retentionOptions, type RetentionOpts } from './retention-flags.ts';

interface InvokerOpts extends CapsOpts, EgressOpts, RetentionOpts { dataDir: string; bus: string; store: string; invokerId: string; slots?: string; logLevel: string }

const defaultId = () => `${os.hostname()}-${process.pid}`.replace(/[^a-zA-Z0-9_-]/g, '-').slice(0, 64);

export function registerInvokerCommand(program: Command): void {
  const invoker = program.command('invoker');
  for (const [flag, help, env] of CAPS_FLAGS) invoker.option(flag, help, env);
  addEgressFlag(invoker);
  addRetentionFlags(invoker);
  invoker.description('run a cluster execution node: an invoker and an async-queue consumer, joined by --bus nats://… and --store postgres://…')
    .option('--bus <url>', 'nats://host:port', process.env.NIMBUS_BUS ?? '')
    .option('--store <url>', 'postgres://user@host/db', process.env.NIMBUS_STORE ?? '')
    .option('--invoker-id <id>', 'this node\'s name, unique in the cluster', process.env.NIMBUS_INVOKER_ID ?? defaultId())
    .option('--slots <n>', 'runs taken before the balancer overflows to other invokers (default 4 per CPU)', process.env.NIMBUS_SLOTS)
    .option('--data-dir <dir>', 'where artifacts are cached and images live', process.env.NIMBUS_DATA_DIR ?? '.nimbus')
    .option('--log-level <level>', 'pino log level', process.env.NIMBUS_LOG_LEVEL ?? 'info')
    .action(async (o: InvokerOpts) => {
      const slots = o.slots === undefined ? undefined : Number(o.slots);
      if (slots !== undefined && (!Number.isInteger(slots) || slots < 1)) throw new CliError(`--slots must be a whole number ≥ 1, got "${o.slots}"`, 2);
      const cluster = clusterOptions(o.bus, o.store);
      const platform = await startPlatform({
        withFrontend: false, withInvoker: true, consumeQueue: true, slots,
        dataDir: o.dataDir, bus: o.bus, store: o.store, invokerId: o.invokerId, logLevel: o.logLevel, ...capsOptions(o), ...egressOptions(o), ...retentionOptions(o), ...cluster,
      }).catch((e: Error) => {
        throw new CliError(`cannot start: ${e.message}`);
      });
      process.stdout.write(`nimbus invoker ${platform.config.invokerId} is running (bus ${redact(o.bus)}, store ${redact(o.store)}, data in ${platform.config.dataDir})\n`);
      closeOnSignals(platform);
    });
}
