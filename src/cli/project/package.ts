// One function of nimbus.yaml as its deploy request: a .js/.ts file as JSON
// {code, ...config}, a directory as a tar.gz with the config in x-nimbus-config,
// exactly what `nimbus deploy <path>` sends. Made once and sent twice (the dry
// run, then the deploy), so both see the same bytes.
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { packDirectory } from '../pack.ts';
import type { Remote } from './remote.ts';
import type { FunctionSpec } from './schema.ts';

export interface DeployRequest {
  send(remote: Remote, dryRun: boolean): ReturnType<Remote['call']>;
}

export async function deployRequest(name: string, spec: FunctionSpec, projectDir: string): Promise<DeployRequest> {
  // Aliases are applied through their own route; everything else is the function's config.
  const { code, aliases: _aliases, ...config } = spec;
  const url = (dryRun: boolean) => `/v1/functions/${encodeURIComponent(name)}${dryRun ? '?dryRun=1' : ''}`;
  if (code === undefined) {
    const json = { kind: 'sequence', steps: spec.steps, ...(spec.timeoutMs ? { timeoutMs: spec.timeoutMs } : {}) };
    return { send: (remote, dryRun) => remote.call('PUT', url(dryRun), { json }) };
  }
  const codePath = path.resolve(projectDir, code);
  if ((await stat(codePath)).isDirectory()) {
    const archive = await packDirectory(codePath);
    const header = { 'x-nimbus-config': JSON.stringify(config) };
    return {
      send: (remote, dryRun) => remote.call('PUT', url(dryRun), { raw: archive, type: 'application/gzip' }, header),
    };
  }
  const json = {
    ...config,
    code: await readFile(codePath, 'utf8'),
    ...(codePath.endsWith('.ts') && !config.language ? { language: 'typescript' } : {}),
  };
  return { send: (remote, dryRun) => remote.call('PUT', url(dryRun), { json }) };
}
