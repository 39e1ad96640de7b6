// Whether `nimbus deploy` deploys one function or a project: no path (a
// nimbus.yaml in the current folder) or a path to a .yaml file is a project;
// a .js/.ts file or a directory is one function, as before. Flags that
// belong to one mode only are refused in the other, saying why.
import { access } from 'node:fs/promises';
import { CliError } from '../client.ts';

export const PROJECT_FILES = ['nimbus.yaml', 'nimbus.yml'];

export interface ModeFlags {
  dryRun?: boolean;
  prune?: boolean;
  [flag: string]: unknown;
}

/** The project file to deploy, or undefined for a single function at `target`. */
export async function projectFile(target: string | undefined, o: ModeFlags): Promise<string | undefined> {
  const file = target === undefined ? await findProjectFile() : /\.ya?ml$/i.test(target) ? target : undefined;
  if (file === undefined) {
    if (o.dryRun || o.prune)
      throw new CliError(
        `--dry-run and --prune plan a nimbus.yaml; ${target} is one function (deploy it without them)`,
        2,
      );
    return undefined;
  }
  const oneFunction = ['name', 'engine', 'memory', 'timeout', 'handler', 'concurrency'].filter(
    (f) => o[f] !== undefined,
  );
  for (const repeatable of ['env', 'secret'])
    if (Object.keys((o[repeatable] as object | undefined) ?? {}).length) oneFunction.push(repeatable);
  if (oneFunction.length)
    throw new CliError(
      `${oneFunction.map((f) => `--${f}`).join(', ')} apply to one function; in ${file} say it under functions.<name>`,
      2,
    );
  return file;
}

async function findProjectFile(): Promise<string> {
  for (const name of PROJECT_FILES) {
    if (
      await access(name).then(
        () => true,
        () => false,
      )
    )
      return name;
  }
  throw new CliError(
    `nothing to deploy: no path given and no nimbus.yaml in ${process.cwd()}; give a .js/.ts file or a directory, or run nimbus deploy where nimbus.yaml is`,
    2,
  );
}
