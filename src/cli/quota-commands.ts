// `nimbus namespace quotas <name>`: a namespace's quotas and what it uses now
// (GET /v1/namespaces/:ns); with a flag per quota it changes them first
// (PATCH /v1/namespaces/:ns, root only): a number sets one, `none` removes it.
import type { Command } from 'commander';
import { api, check, CliError, print } from './client.ts';

const FLAGS = [
  ['--max-concurrent <n|none>', 'maxConcurrent', 'executions running at once'],
  ['--invocations-per-minute <n|none>', 'invocationsPerMinute', 'calls accepted per minute'],
  ['--max-functions <n|none>', 'maxFunctions', 'functions the namespace may hold'],
  ['--max-memory-mb <mb|none>', 'maxMemoryMb', 'the largest memoryMb a function may ask for'],
] as const;

type QuotaName = (typeof FLAGS)[number][1];

function valueOf(flag: string, text: string): number | null {
  if (text === 'none') return null;
  if (!/^\d+$/.test(text)) throw new CliError(`${flag} takes a whole number or "none" (to remove it), not ${text}`, 2);
  return Number(text);
}

export function registerQuotaCommands(program: Command): void {
  const ns = program.commands.find((c) => c.name() === 'namespace') ?? program.command('namespace');
  const cmd = ns
    .command('quotas <name>')
    .description("show a namespace's quotas and usage; change them with the flags (root only)");
  for (const [flag, , what] of FLAGS) cmd.option(flag, what);
  cmd.action(async (name: string, o: Partial<Record<QuotaName, string>>) => {
    const path = `/v1/namespaces/${encodeURIComponent(name)}`;
    const quotas: Record<string, number | null> = {};
    for (const [flag, key] of FLAGS) if (o[key] !== undefined) quotas[key] = valueOf(flag.split(' ')[0]!, o[key]);
    if (Object.keys(quotas).length > 0) check(await api('PATCH', path, { json: { quotas } }));
    print(check(await api('GET', path)).body);
  });
}
