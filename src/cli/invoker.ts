// `nimbus invoker`: a cluster execution node. Runs an invoker (warm pools,
// sandboxes) that answers runs on the bus, heartbeats its load into the
// invoker registry, and consumes the async queue; no HTTP. Stops cleanly on a
// signal: says goodbye, finishes its runs, hands back queued messages.
import type { Command } from 'commander';
import { startPlatform } from '../platform.ts';
import { CliError } from './client.ts';
import { clusterOptions, redact } from './serve.ts';
import { closeOnSignals } from './shutdown.ts';
import { defaultInvokerId, platformFlags, SHARED_FLAGS } from './platform-flags.ts';

export const INVOKER_FLAGS = platformFlags(
  ['bus', 'store', 'invokerId', 'slots', 'dataDir', 'logLevel', ...SHARED_FLAGS],
  {
    bus: { help: 'nats://host:port of the cluster, required', default: undefined },
    store: { help: 'postgres://user@host/db shared by the cluster, required', default: undefined },
    invokerId: {
      help: "this node's name, unique in the cluster",
      default: defaultInvokerId(),
      defaultHelp: "this host's name and the process id",
    },
    dataDir: { help: 'where artifacts are cached and images live' },
  },
);

export function registerInvokerCommand(program: Command): void {
  const invoker = program
    .command('invoker')
    .description(
      'run a cluster execution node: an invoker and an async-queue consumer, joined by --bus nats://… and --store postgres://…',
    );
  INVOKER_FLAGS.addTo(invoker).action(async (o: Record<string, unknown>) => {
    const options = INVOKER_FLAGS.read(o);
    const cluster = clusterOptions(options.bus, options.store);
    const platform = await startPlatform({
      withFrontend: false,
      withInvoker: true,
      consumeQueue: true,
      ...options,
      ...cluster,
    }).catch((e: Error) => {
      throw new CliError(`cannot start: ${e.message}`);
    });
    process.stdout.write(
      `nimbus invoker ${platform.config.invokerId} is running (bus ${redact(options.bus ?? '')}, store ${redact(options.store ?? '')}, data in ${platform.config.dataDir})\n`,
    );
    closeOnSignals(platform);
  });
}
