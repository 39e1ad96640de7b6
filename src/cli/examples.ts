// Deploys the functions in examples/ into a running platform through its own
// HTTP API (as a user would), and says how to call each.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readFile } from 'node:fs/promises';
import type { Platform } from '../platform.ts';
import { packDirectory } from './pack.ts';

export const EXAMPLES_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../examples');

async function put(
  platform: Platform,
  name: string,
  init: { body: BodyInit; type: string; config?: object },
): Promise<string> {
  const headers: Record<string, string> = { 'content-type': init.type };
  if (platform.apiKey) headers.authorization = `Bearer ${platform.apiKey.key}`;
  if (init.config) headers['x-nimbus-config'] = JSON.stringify(init.config);
  const res = await fetch(`${platform.url}/v1/functions/${name}`, { method: 'PUT', headers, body: init.body });
  const body = (await res.json()) as { version?: number; error?: { message: string } };
  return res.ok ? `v${body.version}` : `failed: ${body.error?.message}`;
}

export async function deployExamples(platform: Platform): Promise<string[]> {
  const url = platform.url ?? '';
  const fnUrl = platform.functionsUrl ?? '';
  const auth = platform.apiKey ? ` -H "authorization: Bearer $(cat ${platform.config.dataDir}/api-key)"` : '';
  const hello = await put(platform, 'hello', {
    type: 'application/json',
    body: JSON.stringify({ runtime: 'nodejs', code: await readFile(path.join(EXAMPLES_DIR, 'hello.js'), 'utf8') }),
  });
  const echo = await put(platform, 'http-echo', {
    type: 'application/json',
    body: JSON.stringify({
      runtime: 'nodejs',
      code: await readFile(path.join(EXAMPLES_DIR, 'http-echo.js'), 'utf8'),
      env: { GREETING: 'hello from env' },
    }),
  });
  const greeter = await put(platform, 'greeter-ts', {
    type: 'application/gzip',
    body: new Uint8Array(await packDirectory(path.join(EXAMPLES_DIR, 'greeter-ts'))),
  });
  return [
    'examples deployed:',
    `  hello (${hello}):       curl -s${auth} -X POST ${url}/v1/functions/hello/invoke -H 'content-type: application/json' -d '{"name":"you"}'`,
    `  http-echo (${echo}):   curl -s${auth} '${fnUrl}/fn/http-echo/some/path?x=1'`,
    `  greeter-ts (${greeter}):  curl -s${auth} -X POST ${url}/v1/functions/greeter-ts/invoke -d '{"name":"you","since":1700000000000}'`,
    `  CLI: NIMBUS_URL=${url} npm run nimbus -- list`,
  ];
}
