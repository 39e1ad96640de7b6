// `nimbus kv get|put|delete|list <function> …`: an operator's view of a
// function's KV store (function state), through /v1/kv/:function/*.
import type { Command } from 'commander';
import { api, check, CliError, print } from './client.ts';

const keyPath = (fn: string, key: string) =>
  `/v1/kv/${encodeURIComponent(fn)}/${key.split('/').map(encodeURIComponent).join('/')}`;

function parseValue(text: string, asString: boolean): unknown {
  if (asString) return text;
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new CliError(
      `the value is not JSON (${(e as Error).message}); quote a string as '"text"' or pass --string`,
      2,
    );
  }
}

export function registerKvCommands(program: Command): void {
  const kv = program.command('kv').description("read and write a function's key-value store (function state)");
  kv.command('get <function> <key>')
    .description('print the JSON value of a key')
    .action(async (fn: string, key: string) => {
      const { value } = check(await api('GET', keyPath(fn, key))).body as { value: unknown };
      print(JSON.stringify(value, null, 2));
    });
  kv.command('put <function> <key> <value>')
    .description('store a JSON value under a key')
    .option('--ttl <seconds>', 'delete the key after this many seconds')
    .option('--string', 'store the value as a string, not JSON')
    .action(async (fn: string, key: string, text: string, o: { ttl?: string; string?: boolean }) => {
      const ttlSeconds = o.ttl === undefined ? undefined : Number(o.ttl);
      if (ttlSeconds !== undefined && (!Number.isInteger(ttlSeconds) || ttlSeconds < 1))
        throw new CliError(`--ttl expects whole seconds (1 or more), got "${o.ttl}"`, 2);
      const body = { value: parseValue(text, Boolean(o.string)), ...(ttlSeconds ? { ttlSeconds } : {}) };
      const r = check(await api('PUT', keyPath(fn, key), { json: body })).body as { expiresAt: string | null };
      print(r.expiresAt ? `stored ${key} (expires ${r.expiresAt})` : `stored ${key}`);
    });
  kv.command('delete <function> <key>')
    .description('delete a key')
    .action(async (fn: string, key: string) => {
      check(await api('DELETE', keyPath(fn, key)));
      print(`deleted ${key}`);
    });
  kv.command('list <function>')
    .description('list keys, in byte order')
    .option('--prefix <prefix>', 'only keys that start with this')
    .option('--limit <n>', 'at most this many keys (1-1000)')
    .option('--cursor <cursor>', 'continue after the page that printed this cursor')
    .action(async (fn: string, o: { prefix?: string; limit?: string; cursor?: string }) => {
      const q = new URLSearchParams();
      if (o.prefix) q.set('prefix', o.prefix);
      if (o.limit) q.set('limit', o.limit);
      if (o.cursor) q.set('cursor', o.cursor);
      const query = q.size ? `?${q}` : '';
      const page = check(await api('GET', `/v1/kv/${encodeURIComponent(fn)}${query}`)).body as {
        keys: { key: string; expiresAt: string | null }[];
        cursor: string | null;
      };
      const lines = page.keys.map((k) => (k.expiresAt ? `${k.key}\texpires ${k.expiresAt}` : k.key));
      if (page.cursor) lines.push(`(more: --cursor ${page.cursor})`);
      print(lines.join('\n') || 'no keys');
    });
}
