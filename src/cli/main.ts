// The `nimbus` command: `serve` runs the platform (or a cluster front end),
// `invoker` a cluster execution node; the other verbs talk to a running
// nimbus over HTTP (NIMBUS_URL). Errors print one line and exit non-zero.
import { Command, CommanderError } from 'commander';
import { CliError } from './client.ts';
import { registerClientCommands } from './commands.ts';
import { registerDoctorCommand } from './doctor.ts';
import { registerSetupCommand } from './setup.ts';
import { registerInvokerCommand } from './invoker.ts';
import { registerSandboxCommands } from './sandbox-commands.ts';
import { registerKvCommands } from './kv-commands.ts';
import { registerServeCommand } from './serve.ts';
import { registerSecretCommands } from './secret-commands.ts';
import { registerVersionCommands } from './version-commands.ts';
import { registerEventCommands } from './event-commands.ts';
import { registerTenancyCommands } from './tenancy-commands.ts';
import { registerQuotaCommands } from './quota-commands.ts';
import { registerReportCommands } from './report-command.ts';

const program = new Command('nimbus')
  .description('nimbus: serverless functions on microVMs, containers, V8 isolates or processes')
  .exitOverride()
  .configureOutput({ outputError: (text, write) => write(text) });

registerServeCommand(program);
registerInvokerCommand(program);
registerClientCommands(program);
registerDoctorCommand(program);
registerSetupCommand(program);
registerSandboxCommands(program);
registerVersionCommands(program);
registerEventCommands(program);
registerKvCommands(program);
registerSecretCommands(program);
registerTenancyCommands(program);
registerQuotaCommands(program);
registerReportCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) process.exit(e.exitCode === 0 ? 0 : 2);
  process.stderr.write(`nimbus: ${(e as Error).message}\n`);
  process.exit(e instanceof CliError ? e.exitCode : 1);
}
