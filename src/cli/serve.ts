// `nimbus serve`: runs the platform (embedded by default), optionally deploys
// the examples, prints where to reach it, and shuts down cleanly on a signal.
// With a nats:// bus it is a cluster front end: no invoker of its own, runs go
// to the invokers (`nimbus invoker`) through the sharding balancer.
import type { Command } from 'commander';
import { shardingBalancerFor } from '../balancer/sharding.ts';
import { DEFAULTS } from '../config/options.ts';
import { startPlatform, type PlatformOptions } from '../platform.ts';
import { deployExamples } from './examples.ts';
import { CliError } from './client.ts';
import { closeOnSignals } from './shutdown.ts';
import { COST_FLAGS, platformFlags, SHARED_FLAGS } from './platform-flags.ts';

/** A URL fit for printing: the password hidden. */
export function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}

/** The platform options for a cluster node, or a CliError saying what is missing. */
export function clusterOptions(bus = '', store = ''): Pick<PlatformOptions, 'balancer'> {
  if (!/^nats:\/\//.test(bus))
    throw new CliError(`cluster mode needs --bus nats://host:4222 (or NIMBUS_BUS), got "${bus}"`, 2);
  if (!/^postgres(ql)?:\/\//.test(store))
    throw new CliError(`cluster mode needs a shared store: --store postgres://… (or NIMBUS_STORE), got "${store}"`, 2);
  return { balancer: (b, _config, logger) => shardingBalancerFor(b, (msg, extra) => logger.info(extra ?? {}, msg)) };
}

export const SERVE_FLAGS = platformFlags([
  'port',
  'functionsPort',
  'host',
  'dataDir',
  'bus',
  'store',
  'invokerId',
  'logLevel',
  'apiKey',
  'requireKey',
  ...SHARED_FLAGS,
  ...COST_FLAGS,
]);

export function registerServeCommand(program: Command): void {
  const serve = program
    .command('serve')
    .description(
      'run nimbus: embedded (one process, SQLite, in-memory bus), or a cluster front end with --bus nats://… --store postgres://…',
    );
  SERVE_FLAGS.addTo(serve)
    .option('--examples', 'deploy the functions in examples/ at start')
    .action(async (o: { examples?: boolean } & Record<string, unknown>) => {
      const options = SERVE_FLAGS.read(o);
      const { port, functionsPort, bus = DEFAULTS.bus, store = DEFAULTS.store } = options;
      if (functionsPort !== undefined && functionsPort !== 0 && functionsPort === port)
        throw new CliError(`--functions-port must differ from --port (${port}): functions get their own origin`, 2);
      const cluster = bus !== 'memory';
      const mode = cluster ? { withInvoker: false, ...clusterOptions(bus, store) } : {};
      const platform = await startPlatform({ ...options, ...mode }).catch((e: Error) => {
        throw new CliError(`cannot start: ${e.message}`);
      });
      const lines = [
        cluster
          ? `nimbus front end is running at ${platform.url} (bus ${redact(bus)}, store ${redact(store)}; runs go to \`nimbus invoker\` nodes)`
          : `nimbus is running at ${platform.url} (data in ${platform.config.dataDir})`,
        `functions are served at ${platform.functionsUrl}/fn/<name>/ (their own origin, apart from the API)`,
        `dashboard: ${platform.url}/`,
      ];
      if (platform.apiKey?.created)
        lines.push(`API key (shown once; also in ${platform.config.dataDir}/api-key): ${platform.apiKey.key}`);
      if (o.examples) lines.push(...(await deployExamples(platform)));
      process.stdout.write(`${lines.join('\n')}\n`);
      closeOnSignals(platform);
    });
}
