// The client verbs of the `nimbus` CLI, declared in one registry: deploy,
// invoke, list, get, delete, activations, logs.
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { api, check, CliError, print } from './client.ts';
import { packDirectory } from './pack.ts';
import { registerLogsCommand } from './logs-command.ts';
import { projectFile } from './project/command.ts';
import { deployProject } from './project/deploy-project.ts';

const collectEnv = (value: string, prev: Record<string, string>) => {
  const i = value.indexOf('=');
  if (i < 1) throw new CliError(`--env expects KEY=VALUE, got "${value}"`, 2);
  return { ...prev, [value.slice(0, i)]: value.slice(i + 1) };
};

const collectSecret = (value: string, prev: Record<string, string>) => {
  const i = value.indexOf('=');
  if (i < 1) throw new CliError(`--secret expects ENV_NAME=secret-name, got "${value}"`, 2);
  return { ...prev, [value.slice(0, i)]: value.slice(i + 1) };
};

const int = (flag: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new CliError(`${flag} expects a positive whole number, got "${v}"`, 2);
  return n;
};

export async function readData(data: string | undefined): Promise<unknown> {
  if (data === undefined) return {};
  const text = data.startsWith('@')
    ? await readFile(data.slice(1), 'utf8').catch((e: NodeJS.ErrnoException) => {
        const why = e.code === 'ENOENT' ? 'no such file' : e.code === 'EISDIR' ? 'it is a directory' : e.message;
        throw new CliError(
          `cannot read --data ${data} (${why}); give --data a JSON text or @ and the path of a JSON file`,
          2,
        );
      })
    : data;
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new CliError(`--data is not valid JSON (${(e as Error).message}); pass JSON or @file.json`, 2);
  }
}

interface DeployOpts {
  name?: string;
  engine?: string;
  memory?: number;
  timeout?: number;
  handler?: string;
  concurrency?: number;
  keepAlive?: number;
  records?: string;
  env: Record<string, string>;
  secret: Record<string, string>;
  dryRun?: boolean;
  prune?: boolean;
  sequence?: string;
}

/** `nimbus deploy <name> --sequence a,b,c`: a sequence of functions already deployed (each name, name:N or name:alias). */
async function deploySequence(target: string | undefined, o: DeployOpts & { sequence: string }): Promise<void> {
  const name = o.name ?? target;
  if (!name) throw new CliError('a sequence needs a name: nimbus deploy <name> --sequence a,b,c', 2);
  const steps = o.sequence
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const body = { kind: 'sequence', steps, ...(o.timeout ? { timeoutMs: o.timeout } : {}) };
  const v = check(await api('PUT', `/v1/functions/${encodeURIComponent(name)}`, { json: body })).body as {
    name: string;
    version: number;
  };
  print(`deployed sequence ${v.name} version ${v.version}: ${steps.join(' → ')}`);
}

/** `--records all|errors|0.1`: the config's records policy (a number is a sample share of the successes). */
function recordsPolicy(flag: string | undefined): 'all' | 'errors' | { sample: number } | undefined {
  if (flag === undefined || flag === 'all' || flag === 'errors') return flag;
  const share = Number(flag);
  if (flag.trim() === '' || !(share >= 0 && share <= 1))
    throw new CliError(`--records takes all, errors, or a share from 0 to 1 such as 0.1, not "${flag}"`, 2);
  return { sample: share };
}

async function deploy(target: string | undefined, o: DeployOpts): Promise<void> {
  if (o.sequence !== undefined) return deploySequence(target, { ...o, sequence: o.sequence });
  const project = await projectFile(target, { ...o });
  if (project !== undefined || target === undefined) return deployProject(project ?? 'nimbus.yaml', o);
  const st = await stat(target).catch(() => {
    throw new CliError(`${target} does not exist: give a .js/.ts file or a directory`, 2);
  });
  const name = o.name ?? path.basename(target).replace(/\.(m?[jt]s|cjs)$/, '');
  const cfg = {
    runtime: 'nodejs',
    engine: o.engine,
    memoryMb: o.memory,
    timeoutMs: o.timeout,
    handler: o.handler,
    concurrency: o.concurrency,
    keepAlive: o.keepAlive,
    records: recordsPolicy(o.records),
    env: Object.keys(o.env).length ? o.env : undefined,
    secrets: Object.keys(o.secret).length ? o.secret : undefined,
  };
  const res = st.isDirectory()
    ? await api(
        'PUT',
        `/v1/functions/${encodeURIComponent(name)}`,
        { raw: await packDirectory(target), type: 'application/gzip' },
        { 'x-nimbus-config': JSON.stringify(cfg) },
      )
    : await api('PUT', `/v1/functions/${encodeURIComponent(name)}`, {
        json: {
          ...cfg,
          code: await readFile(target, 'utf8'),
          language: target.endsWith('.ts') ? 'typescript' : undefined,
        },
      });
  const v = check(res).body as { name: string; version: number; config: { engine: string } };
  print(`deployed ${v.name} version ${v.version} (engine ${v.config.engine})`);
}

export function registerClientCommands(program: Command): void {
  program
    .command('deploy [path]')
    .description(
      'deploy a .js/.ts file or a directory (with package.json, node_modules); without a path, the nimbus.yaml here (or a .yaml path): plan, then apply',
    )
    .option('--name <name>', 'function name (default: file or directory name)')
    .option('--engine <engine>', 'process | isolate | container | microvm')
    .option('--memory <mb>', 'memory in MB', int('--memory'))
    .option('--timeout <ms>', 'timeout in ms', int('--timeout'))
    .option('--concurrency <n>', 'invocations per sandbox at once', int('--concurrency'))
    .option('--keep-alive <ms>', 'idle keep-alive in ms (default: learned from the idle times)', int('--keep-alive'))
    .option('--records <policy>', 'activation records to keep: all, errors, or a sample share such as 0.1')
    .option('--handler <handler>', 'export to call, e.g. handler or src/app.handler')
    .option('--env <KEY=VALUE>', 'environment variable (repeatable)', collectEnv, {})
    .option('--secret <KEY=SECRET>', 'environment variable given the value of a secret (repeatable)', collectSecret, {})
    .option('--dry-run', 'nimbus.yaml: print the plan, change nothing')
    .option(
      '--prune',
      'nimbus.yaml: delete the functions, triggers and aliases (of its functions) of the namespace the file does not declare',
    )
    .option(
      '--sequence <steps>',
      'deploy a sequence of deployed functions, e.g. --sequence a,b:prod,c (the path is its name)',
    )
    .action(deploy);

  program
    .command('invoke <name>')
    .description('invoke a function and print its result')
    .option('--data <json>', 'the event: JSON or @file.json')
    .option('--async', 'queue it and print the activation id')
    .action(async (name: string, o: { data?: string; async?: boolean }) => {
      const res = check(
        await api('POST', `/v1/functions/${encodeURIComponent(name)}/invoke${o.async ? '?async=1' : ''}`, {
          json: await readData(o.data),
        }),
      );
      print(o.async ? res.body : res.text);
    });

  program
    .command('list')
    .description('list functions')
    .action(async () => {
      const { functions } = check(await api('GET', '/v1/functions')).body as {
        functions: { name: string; version: number; config: { engine: string; memoryMb: number } }[];
      };
      print(
        functions.length
          ? functions.map((f) => `${f.name}\tv${f.version}\t${f.config.engine}\t${f.config.memoryMb} MB`).join('\n')
          : 'no functions yet: nimbus deploy <file>',
      );
    });

  program
    .command('get <name>')
    .description('show a function')
    .action(async (name: string) => print(check(await api('GET', `/v1/functions/${encodeURIComponent(name)}`)).body));

  program
    .command('delete <name>')
    .description('delete a function')
    .action(async (name: string) => {
      check(await api('DELETE', `/v1/functions/${encodeURIComponent(name)}`));
      print(`deleted ${name}`);
    });

  program
    .command('activations')
    .description('list recent activations')
    .option('--function <name>', 'only this function')
    .option('--limit <n>', 'how many', int('--limit'))
    .action(async (o: { function?: string; limit?: number }) => {
      const q = new URLSearchParams();
      if (o.function) q.set('function', o.function);
      if (o.limit) q.set('limit', String(o.limit));
      const { activations } = check(await api('GET', `/v1/activations?${q}`)).body as {
        activations: {
          id: string;
          functionName: string;
          status: string;
          cold: boolean | null;
          runMs: number | null;
          createdAt: string;
        }[];
      };
      print(
        activations
          .map(
            (a) =>
              `${a.id}\t${a.functionName}\t${a.status}\t${a.cold ? 'cold' : 'warm'}\t${a.runMs ?? '-'} ms\t${a.createdAt}`,
          )
          .join('\n') || 'no activations',
      );
    });

  registerLogsCommand(program);
}
