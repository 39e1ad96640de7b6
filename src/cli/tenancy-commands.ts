// `nimbus namespace create|list|get|delete` and `nimbus key create|list|revoke`:
// namespaces (root) and API keys with roles, through /v1/namespaces and /v1/keys.
// Every client verb acts in NIMBUS_NAMESPACE when set (root only; a key has its own).
import type { Command } from 'commander';
import { api, check, CliError, print } from './client.ts';

const ROLES = 'admin, developer, invoker or reader';

interface KeyView {
  id: string;
  namespace: string;
  role: string;
  prefix: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

function quotasOf(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new CliError(`--quotas must be JSON, e.g. '{"invocationsPerMinute": 600}', got ${text}`, 2);
  }
}

export function registerTenancyCommands(program: Command): void {
  const ns = program.command('namespace').description('namespaces: what a team owns (root only)');
  ns.command('create <name>')
    .description('create a namespace')
    .option('--quotas <json>', 'its quotas: maxConcurrent, invocationsPerMinute, maxFunctions, maxMemoryMb')
    .action(async (name: string, o: { quotas?: string }) => {
      check(await api('POST', '/v1/namespaces', { json: { name, quotas: quotasOf(o.quotas) } }));
      print(`created namespace ${name}; make a key for it with: nimbus key create --namespace ${name} --role admin`);
    });
  ns.command('list')
    .description('list the namespaces')
    .action(async () => {
      const { namespaces } = check(await api('GET', '/v1/namespaces')).body as { namespaces: { name: string }[] };
      print(namespaces.map((n) => n.name).join('\n'));
    });
  ns.command('get <name>')
    .description('show a namespace and its quotas')
    .action(async (name: string) => print(check(await api('GET', `/v1/namespaces/${encodeURIComponent(name)}`)).body));
  ns.command('delete <name>')
    .description('delete a namespace (refused while it has functions, unless --force)')
    .option('--force', 'delete its functions, keys and everything else in it too')
    .action(async (name: string, o: { force?: boolean }) => {
      const path = `/v1/namespaces/${encodeURIComponent(name)}${o.force ? '?force=1' : ''}`;
      const { functions } = check(await api('DELETE', path)).body as { functions: string[] };
      print(`deleted namespace ${name}${functions.length ? ` and its functions ${functions.join(', ')}` : ''}`);
    });

  const key = program.command('key').description('API keys with a role in one namespace');
  key
    .command('create')
    .description('make a key; it is printed once and stored only as a hash')
    .requiredOption('--role <role>', ROLES)
    .option('--namespace <ns>', "its namespace (default: the caller's)")
    .action(async (o: { role: string; namespace?: string }) => {
      const res = check(await api('POST', '/v1/keys', { json: { role: o.role, namespace: o.namespace } }));
      const made = res.body as { id: string; key: string; namespace: string; role: string };
      print(`${made.key}\n(key ${made.id}, ${made.role} in ${made.namespace}: shown once; use it as NIMBUS_API_KEY)`);
    });
  key
    .command('list')
    .description('list keys (no key material)')
    .option('--namespace <ns>', 'only this namespace (root)')
    .action(async (o: { namespace?: string }) => {
      const q = o.namespace ? `?namespace=${encodeURIComponent(o.namespace)}` : '';
      const { keys } = check(await api('GET', `/v1/keys${q}`)).body as { keys: KeyView[] };
      const state = (k: KeyView) => (k.revokedAt ? `revoked ${k.revokedAt}` : `last used ${k.lastUsedAt ?? 'never'}`);
      print(keys.map((k) => `${k.id}\t${k.namespace}\t${k.role}\t${k.prefix}…\t${state(k)}`).join('\n') || 'no keys');
    });
  key
    .command('revoke <id>')
    .description('revoke a key: refused at once on every front end')
    .action(async (id: string) => {
      check(await api('DELETE', `/v1/keys/${encodeURIComponent(id)}`));
      print(`revoked ${id}`);
    });
}
