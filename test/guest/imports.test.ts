// Guest code kept apart from the host by a tool: no src/guest/*.guest.ts file
// imports host code, a Node built-in its sandbox does not use, or an unvetted
// package, and the isolate runtime imports no built-in at all. A fixture
// guest folder proves the check fails on each kind of import.
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { createTempDir } from '../helpers/temp.ts';
import { guestImportViolations } from './guest-imports.ts';

const GUEST_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/guest');
const fixtureRoot = await createTempDir('nimbus-guest-imports');

async function fixture(name: string, files: Record<string, string>): Promise<string> {
  const root = path.join(fixtureRoot, name);
  for (const [file, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(root, file)), { recursive: true });
    await writeFile(path.join(root, file), text);
  }
  return path.join(root, 'guest');
}

describe('guest code imports', () => {
  it('src/guest imports nothing of the host', async () => {
    assert.deepEqual(await guestImportViolations(GUEST_DIR), []);
  });

  it('accepts what the rule allows: siblings, the sandbox built-ins, vetted packages, type-only imports', async () => {
    const dir = await fixture('allowed', {
      'guest/agent.guest.ts':
        "import fs from 'node:fs';\nimport { join } from 'path';\nimport type { Server } from 'node:http';\nimport { a } from './util.guest.ts';\nexport const x: Server | undefined = undefined; fs.existsSync(join(a));\n",
      'guest/util.guest.ts': "export const a = 'a';\n",
      'guest/isolate-runtime.guest.ts':
        "import { a } from './util.guest.ts';\nimport URL from 'core-js-pure/web/url.js';\nexport const u = new URL(a);\n",
    });
    assert.deepEqual(await guestImportViolations(dir), []);
  });

  it('fails on host code, other built-ins, unvetted packages, and any built-in in the isolate runtime', async () => {
    const dir = await fixture('forbidden', {
      'shared/secret.ts': "export const secret = 'host';\n",
      'guest/leak.guest.ts': "import { secret } from '../shared/secret.ts';\nexport const s = secret;\n",
      'guest/server.guest.ts': "import http from 'node:http';\nexport const h = http;\n",
      'guest/worker.guest.ts': "export const w = require('worker_threads');\n",
      'guest/dynamic.guest.ts': "export const v = () => import('node:vm');\n",
      'guest/computed.guest.ts': "export const c = require(process.env.WHICH ?? 'x');\n",
      'guest/package.guest.ts': "import Fastify from 'fastify';\nexport const f = Fastify;\n",
      'guest/isolate-runtime.guest.ts': "import './isolate-web-x.guest.ts';\n",
      'guest/isolate-web-x.guest.ts':
        "import { readFileSync } from 'node:fs';\nimport { z } from 'zod';\nexport const r = [readFileSync, z];\n",
    });
    assert.deepEqual(await guestImportViolations(dir), [
      'computed.guest.ts requires a computed name (esbuild needs its runtime helper): name the module, so that this check can see it',
      'dynamic.guest.ts imports node:vm: not a built-in guest code uses inside its sandbox (node:module, node:async_hooks, node:net, node:fs, node:stream, node:child_process, node:path, node:crypto)',
      'isolate-web-x.guest.ts imports node:fs: the isolate runtime runs in a bare V8 context and may import no Node built-in',
      'isolate-web-x.guest.ts imports zod: a package the isolate runtime may not use',
      'leak.guest.ts imports ../shared/secret.ts: host code outside the guest folder (../shared/secret.ts)',
      'package.guest.ts imports fastify: a package guest code may not use (allowed: zod, isolated-vm, core-js-pure)',
      'server.guest.ts imports node:http: not a built-in guest code uses inside its sandbox (node:module, node:async_hooks, node:net, node:fs, node:stream, node:child_process, node:path, node:crypto)',
      'worker.guest.ts imports worker_threads: not a built-in guest code uses inside its sandbox (node:module, node:async_hooks, node:net, node:fs, node:stream, node:child_process, node:path, node:crypto)',
    ]);
  });
});
