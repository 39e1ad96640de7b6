// `nimbus serve`: runs the platform (embedded by default), optionally deploys
// the examples, prints where to reach it, and shuts down cleanly on a signal.
import type { Command } from 'commander';
import { startPlatform } from '../platform.ts';
import { deployExamples } from './examples.ts';
import { CliError } from './client.ts';

interface ServeOpts { port: string; host: string; dataDir: string; examples?: boolean; bus: string; store: string; invokerId: string; logLevel: string }

export function registerServeCommand(program: Command): void {
  program.command('serve').description('run nimbus (embedded: one process, SQLite, in-memory bus)')
    .option('--port <port>', 'port to listen on', process.env.NIMBUS_PORT ?? '8080')
    .option('--host <host>', 'address to listen on (beyond loopback an API key is required)', process.env.NIMBUS_HOST ?? '127.0.0.1')
    .option('--data-dir <dir>', 'where state lives', process.env.NIMBUS_DATA_DIR ?? '.nimbus')
    .option('--bus <url>', '"memory" or nats://host:port', process.env.NIMBUS_BUS ?? 'memory')
    .option('--store <url>', '"sqlite" or postgres://…', process.env.NIMBUS_STORE ?? 'sqlite')
    .option('--invoker-id <id>', 'name of this process\'s invoker', process.env.NIMBUS_INVOKER_ID ?? 'local')
    .option('--log-level <level>', 'pino log level', process.env.NIMBUS_LOG_LEVEL ?? 'info')
    .option('--examples', 'deploy the functions in examples/ at start')
    .action(async (o: ServeOpts) => {
      const port = Number(o.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CliError(`--port must be 0-65535, got "${o.port}"`, 2);
      const platform = await startPlatform({ port, host: o.host, dataDir: o.dataDir, bus: o.bus, store: o.store, invokerId: o.invokerId, logLevel: o.logLevel }).catch((e: Error) => {
        throw new CliError(`cannot start: ${e.message}`);
      });
      const lines = [`nimbus is running at ${platform.url} (data in ${platform.config.dataDir})`];
      if (platform.apiKey?.created) lines.push(`API key (shown once; also in ${platform.config.dataDir}/api-key): ${platform.apiKey.key}`);
      if (o.examples) lines.push(...(await deployExamples(platform)));
      process.stdout.write(`${lines.join('\n')}\n`);
      let stopping = false;
      const stop = async () => {
        if (stopping) return;
        stopping = true;
        await platform.close();
        process.exit(0);
      };
      process.on('SIGINT', () => void stop());
      process.on('SIGTERM', () => void stop());
    });
}
