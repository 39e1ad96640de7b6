// `nimbus versions <fn>` (list, or --delete <n>) and `nimbus alias
// set|get|list|delete`: a function's versions and aliases through the API.
// A canary is `nimbus alias set shop prod 3 --weight 4=0.1`; rollback is
// `nimbus alias set shop prod 3`. `nimbus invoke shop:prod` calls through it.
import type { Command } from 'commander';
import { api, check, CliError, print } from './client.ts';

interface Alias {
  alias: string;
  version: number;
  weights: Record<string, number>;
  updatedAt: string;
}

const fnPath = (fn: string) => `/v1/functions/${encodeURIComponent(fn)}`;

/** `--weight 4=0.1` (repeatable) into {"4": 0.1}. */
const collectWeight = (value: string, prev: Record<string, number>) => {
  const m = /^(\d+)=(.+)$/.exec(value);
  const weight = m ? Number(m[2]) : Number.NaN;
  if (!m || Number.isNaN(weight)) throw new CliError(`--weight expects VERSION=SHARE, e.g. 4=0.1, got "${value}"`, 2);
  return { ...prev, [m[1]!]: weight };
};

const versionArg = (v: string) => {
  if (!/^[1-9]\d*$/.test(v)) throw new CliError(`the version must be a whole number from 1, got "${v}"`, 2);
  return Number(v);
};

/** One line of an alias: where its calls go. */
function describeAlias(a: Alias): string {
  const weighted = Object.entries(a.weights);
  const rest = 1 - weighted.reduce((sum, [, w]) => sum + w, 0);
  const split = weighted.length
    ? ` (${[`v${a.version} ${Math.round(rest * 1000) / 10}%`, ...weighted.map(([v, w]) => `v${v} ${Math.round(w * 1000) / 10}%`)].join(', ')})`
    : '';
  return `${a.alias}\tv${a.version}${split}\t${a.updatedAt}`;
}

export function registerVersionCommands(program: Command): void {
  program
    .command('versions <function>')
    .description("list a function's versions (current one and aliases marked), or delete one")
    .option('--delete <version>', 'delete this version (refused for the current one or one an alias names)')
    .action(async (fn: string, o: { delete?: string }) => {
      if (o.delete !== undefined) {
        check(await api('DELETE', `${fnPath(fn)}/versions/${versionArg(o.delete)}`));
        return print(`deleted ${fn} version ${o.delete}`);
      }
      const { versions } = check(await api('GET', `${fnPath(fn)}/versions`)).body as {
        versions: { version: number; sha256: string; createdAt: string; current: boolean; aliases: string[] }[];
      };
      print(
        versions
          .map(
            (v) =>
              `v${v.version}\t${v.current ? 'current' : '-'}\t${v.sha256.slice(0, 12)}\t${v.createdAt}\t${v.aliases.join(',') || '-'}`,
          )
          .join('\n'),
      );
    });

  const alias = program.command('alias').description("a function's aliases: set (make or move), get, list, delete");
  alias
    .command('set <function> <alias> <version>')
    .description('point an alias at a version; --weight sends a share of its calls to another (canary)')
    .option('--weight <VERSION=SHARE>', 'e.g. 4=0.1: a tenth of the calls to version 4 (repeatable)', collectWeight, {})
    .action(async (fn: string, name: string, version: string, o: { weight: Record<string, number> }) => {
      const res = check(
        await api('PUT', `${fnPath(fn)}/aliases/${encodeURIComponent(name)}`, {
          json: { version: versionArg(version), weights: o.weight },
        }),
      );
      print(`${res.status === 201 ? 'made' : 'moved'} ${fn}:${describeAlias(res.body as Alias)}`);
    });
  alias
    .command('get <function> <alias>')
    .description('show an alias')
    .action(async (fn: string, name: string) =>
      print(check(await api('GET', `${fnPath(fn)}/aliases/${encodeURIComponent(name)}`)).body),
    );
  alias
    .command('list <function>')
    .description("list a function's aliases")
    .action(async (fn: string) => {
      const { aliases } = check(await api('GET', `${fnPath(fn)}/aliases`)).body as { aliases: Alias[] };
      print(aliases.map(describeAlias).join('\n') || `no aliases: nimbus alias set ${fn} <alias> <version>`);
    });
  alias
    .command('delete <function> <alias>')
    .description('delete an alias')
    .action(async (fn: string, name: string) => {
      check(await api('DELETE', `${fnPath(fn)}/aliases/${encodeURIComponent(name)}`));
      print(`deleted alias ${name} of ${fn}`);
    });
}
