// `nimbus secret set|list|delete`: encrypted secrets of the caller's namespace
// through /v1/secrets. A value is read from stdin or a file, never taken as an
// argument (ps and shell history would show it), and never printed.
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { api, check, CliError, print } from './client.ts';

interface SecretView {
  name: string;
  createdAt: string;
  updatedAt: string;
}

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY)
    throw new CliError(
      'pipe the value in (printf %s "$VALUE" | nimbus secret set <name>) or give --from-file <path>; a value is never taken as an argument',
      2,
    );
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  // `echo value |` adds a newline the user did not mean as part of the secret.
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

export function registerSecretCommands(program: Command): void {
  const secret = program.command('secret').description("encrypted secrets of the caller's namespace");
  secret
    .command('set <name>')
    .description('create or replace a secret; the value comes from stdin (one final newline dropped) or --from-file')
    .option('--from-file <path>', 'read the value from this file, byte for byte')
    .action(async (name: string, o: { fromFile?: string }) => {
      const value = o.fromFile
        ? await readFile(o.fromFile, 'utf8').catch((e: NodeJS.ErrnoException) => {
            throw new CliError(`cannot read --from-file ${o.fromFile} (${e.code ?? e.message})`, 2);
          })
        : await readStdin();
      const res = check(await api('PUT', `/v1/secrets/${encodeURIComponent(name)}`, { json: { value } }));
      print(
        `${res.status === 201 ? 'created' : 'replaced'} secret ${name}; map it with "secrets": {"ENV_NAME": "${name}"}`,
      );
    });
  secret
    .command('list')
    .description('list the secrets: names and dates, never values')
    .action(async () => {
      const { secrets } = check(await api('GET', '/v1/secrets')).body as { secrets: SecretView[] };
      print(
        secrets.length
          ? secrets.map((s) => `${s.name}\tupdated ${s.updatedAt}`).join('\n')
          : 'no secrets yet: nimbus secret set <name> < file',
      );
    });
  secret
    .command('delete <name>')
    .description('delete a secret (refused while a function uses it)')
    .action(async (name: string) => {
      check(await api('DELETE', `/v1/secrets/${encodeURIComponent(name)}`));
      print(`deleted secret ${name}`);
    });
}
