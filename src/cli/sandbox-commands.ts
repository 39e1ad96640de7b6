// `nimbus sandbox list|create|delete|resize|migrate`: VM operations on
// sandboxes, through the API.
import type { Command } from 'commander';
import { api, check, print } from './client.ts';

export function registerSandboxCommands(program: Command): void {
  const sandbox = program
    .command('sandbox')
    .description('list, create (pre-warm), delete, migrate and resize sandboxes');
  sandbox
    .command('list')
    .description('list sandboxes')
    .action(async () => {
      const { sandboxes } = check(await api('GET', '/v1/sandboxes')).body as {
        sandboxes: {
          id: string;
          engine: string;
          functionName: string;
          functionVersion: number;
          memoryMb: number;
          inflight: number;
        }[];
      };
      print(
        sandboxes
          .map(
            (s) =>
              `${s.id}\t${s.engine}\t${s.functionName}@${s.functionVersion}\t${s.memoryMb} MB\t${s.inflight} in flight`,
          )
          .join('\n') || 'no sandboxes',
      );
    });
  sandbox
    .command('create <function>')
    .description('start a warm sandbox for a function')
    .action(async (name: string) => {
      print(check(await api('POST', `/v1/functions/${encodeURIComponent(name)}/sandboxes`)).body);
    });
  sandbox
    .command('delete <id>')
    .description('dispose a sandbox')
    .action(async (id: string) => {
      check(await api('DELETE', `/v1/sandboxes/${encodeURIComponent(id)}`));
      print(`deleted ${id}`);
    });
  sandbox
    .command('migrate <id>')
    .description('live-migrate a running sandbox (microvm: to a new QEMU process)')
    .option('--target <target>', 'where to move it, for engines that can move between hosts')
    .action(async (id: string, o: { target?: string }) => {
      print(
        check(
          await api('POST', `/v1/sandboxes/${encodeURIComponent(id)}/migrate`, {
            json: o.target ? { target: o.target } : {},
          }),
        ).body,
      );
    });
  sandbox
    .command('resize <id>')
    .description("change a sandbox's memory and/or CPUs")
    .option('--memory <mb>', 'memory in MB')
    .option('--cpus <n>', 'CPUs (fractions allowed)')
    .action(async (id: string, o: { memory?: string; cpus?: string }) => {
      const body: Record<string, number> = {};
      if (o.memory !== undefined) body.memoryMb = Number(o.memory);
      if (o.cpus !== undefined) body.cpus = Number(o.cpus);
      print(check(await api('PATCH', `/v1/sandboxes/${encodeURIComponent(id)}`, { json: body })).body);
    });
}
