// `nimbus serve`: runs the platform (embedded by default), optionally deploys
// the examples, prints where to reach it, and shuts down cleanly on a signal.
// With a nats:// bus it is a cluster front end: no invoker of its own, runs go
// to the invokers (`nimbus invoker`) through the sharding balancer.
import type { Command } from 'commander';
import { shardingBalancerFor } from '../balancer/sharding.ts';
import { startPlatform, type PlatformOptions } from '../platform.ts';
import { deployExamples } from './examples.ts';
import { CliError } from './client.ts';
import { closeOnSignals } from './shutdown.ts';
import { addEgressFlag, egressOptions, type EgressOpts } from './egress-flag.ts';
import { addRetentionFlags, retentionOptions, type RetentionOpts } from './retention-flags.ts';

/** A URL fit for printing: the password hidden. */
export function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}

/** The platform options for a cluster node, or a CliError saying what is missing. */
export function clusterOptions(bus: string, store: string): Pick<PlatformOptions, 'balancer'> {
  if (!/^nats:\/\//.test(bus)) throw new CliError(`cluster mode needs --bus nats://host:4222 (or NIMBUS_BUS), got "${bus}"`, 2);
  if (!/^postgres(ql)?:\/\//.test(store)) throw new CliError(`cluster mode needs a shared store: --store postgres://… (or NIMBUS_STORE), got "${store}"`, 2);
  return { balancer: (b, _config, logger) => shardingBalancerFor(b, (msg, extra) => logger.info(extra ?? {}, msg)) };
}

/** The platform-wide sandbox caps of an invoker (`--max-sandboxes-total`, `--sandbox-memory-total-mb`), checked. */
export interface CapsOpts { maxSandboxesTotal?: string; sandboxMemoryTotalMb?: string }
export function capsOptions(o: CapsOpts): Pick<PlatformOptions, 'maxSandboxesTotal' | 'sandboxMemoryTotalMb'> {
  const whole = (flag: string, raw: string | undefined, min: number) => {
    if (raw === undefined) return undefined;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min) throw new CliError(`${flag} must be a whole number ≥ ${min}, got "${raw}"`, 2);
    return n;
  };
  return { maxSandboxesTotal: whole('--max-sandboxes-total', o.maxSandboxesTotal, 1), sandboxMemoryTotalMb: whole('--sandbox-memory-total-mb', o.sandboxMemoryTotalMb, 128) };
}
export const CAPS_FLAGS: [string, string, string | undefined][] = [
  ['--max-sandboxes-total <n>', 'most sandboxes this invoker runs at once, all functions together (default: one per 64 MB of memory, at most 1000)', process.env.NIMBUS_MAX_SANDBOXES_TOTAL],
  ['--sandbox-memory-total-mb <mb>', 'most memory its sandboxes may be given together (default: 3/4 of the machine\'s)', process.env.NIMBUS_SANDBOX_MEMORY_TOTAL_MB],
];

interface ServeOpts extends CapsOpts, EgressOpts, RetentionOpts { port: string; functionsPort?: string; host: string; dataDir: string; examples?: boolean; bus: string; store: string; invokerId: string; logLevel: string; apiKey?: string }

export function registerServeCommand(program: Command): void {
  const serve = program.command('serve');
  for (const [flag, help, env] of CAPS_FLAGS) serve.option(flag, help, env);
  addEgressFlag(serve);
  addRetentionFlags(serve);
  serve.description('run nimbus: embedded (one process, SQLite, in-memory bus), or a cluster front end with --bus nats://… --store postgres://…')
    .option('--port <port>', 'port to listen on', process.env.NIMBUS_PORT ?? '8080')
    .option('--functions-port <port>', 'port of the function origin (ANY /fn/:name/*), kept apart from the API (default: --port + 1; any free port when --port is 0)', process.env.NIMBUS_FUNCTIONS_PORT)
    .option('--host <host>', 'address to listen on (beyond loopback an API key is required)', process.env.NIMBUS_HOST ?? '127.0.0.1')
    .option('--data-dir <dir>', 'where state lives', process.env.NIMBUS_DATA_DIR ?? '.nimbus')
    .option('--bus <url>', '"memory" or nats://host:port', process.env.NIMBUS_BUS ?? 'memory')
    .option('--store <url>', '"sqlite" or postgres://…', process.env.NIMBUS_STORE ?? 'sqlite')
    .option('--invoker-id <id>', 'name of this process\'s invoker', process.env.NIMBUS_INVOKER_ID ?? 'local')
    .option('--log-level <level>', 'pino log level', process.env.NIMBUS_LOG_LEVEL ?? 'info')
    .option('--api-key <key>', 'API key clients must send (16+ characters); front-end replicas share one (default: generated into the data dir when needed)', process.env.NIMBUS_API_KEY)
    .option('--examples', 'deploy the functions in examples/ at start')
    .action(async (o: ServeOpts) => {
      const port = Number(o.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CliError(`--port must be 0-65535, got "${o.port}"`, 2);
      const functionsPort = o.functionsPort === undefined ? undefined : Number(o.functionsPort);
      if (functionsPort !== undefined && (!Number.isInteger(functionsPort) || functionsPort < 0 || functionsPort > 65535)) {
        throw new CliError(`--functions-port must be 0-65535, got "${o.functionsPort}"`, 2);
      }
      if (functionsPort !== undefined && functionsPort !== 0 && functionsPort === port) throw new CliError(`--functions-port must differ from --port (${port}): functions get their own origin`, 2);
      const cluster = o.bus !== 'memory';
      const mode = cluster ? { withInvoker: false, ...clusterOptions(o.bus, o.store) } : {};
      const platform = await startPlatform({ port, functionsPort, host: o.host, dataDir: o.dataDir, bus: o.bus, store: o.store, invokerId: o.invokerId, logLevel: o.logLevel, apiKey: o.apiKey, ...capsOptions(o), ...egressOptions(o), ...retentionOptions(o), ...mode }).catch((e: Error) => {
        throw new CliError(`cannot start: ${e.message}`);
      });
      const lines = [
        cluster
          ? `nimbus front end is running at ${platform.url} (bus ${redact(o.bus)}, store ${redact(o.store)}; runs go to \`nimbus invoker\` nodes)`
          : `nimbus is running at ${platform.url} (data in ${platform.config.dataDir})`,
        `functions are served at ${platform.functionsUrl}/fn/<name>/ (their own origin, apart from the API)`,
      ];
      if (platform.apiKey?.created) lines.push(`API key (shown once; also in ${platform.config.dataDir}/api-key): ${platform.apiKey.key}`);
      if (o.examples) lines.push(...(await deployExamples(platform)));
      process.stdout.write(`${lines.join('\n')}\n`);
      closeOnSignals(platform);
    });
}
