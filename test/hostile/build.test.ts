// Hostile deploys against the build: imports that reach outside the upload
// (absolute paths, "../", the data dir's API key and another function's
// artifact, an entry or package.json main outside the archive) get a 400 that
// never carries the target's content; a bundler crash (a million brackets), a
// build over its time or memory limit fail only that deploy, and the next one
// works; ordinary deploys (the examples, Node built-ins) still build.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { chmod, mkdir, readdir, readFile, rm, rmdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { packDirectory } from '../../src/cli/pack.ts';
import { loadOrCreateApiKey } from '../../src/frontend/auth.ts';
import { makeTar, makeZip } from '../helpers/archives.ts';
import { startTestPlatform, type TestPlatform, type TestResponse } from '../helpers/platform.ts';
import { createTempDir } from '../helpers/temp.ts';

const SECRET = `zz${randomBytes(24).toString('hex')}`;
const secretDir = await createTempDir('nimbus-build-secret');
const secretText = path.join(secretDir, 'secret.txt');
const secretJs = path.join(secretDir, 'secret.js');
await writeFile(secretText, SECRET, { mode: 0o600 });
await writeFile(secretJs, `exports.handler = () => ${JSON.stringify(SECRET)};`, { mode: 0o600 });
await chmod(secretText, 0o600);

/** From any directory, a relative path that climbs to / and down to p. */
const climb = (p: string) => `${'../'.repeat(12)}${p.slice(1)}`;

/** Every 8-character piece of a secret: none may appear in an answer. */
function assertNoPieceOf(secret: string, text: string): void {
  for (let i = 0; i + 8 <= secret.length; i++)
    assert.ok(!text.includes(secret.slice(i, i + 8)), `the answer quotes the secret: ${text.slice(0, 300)}`);
}

async function assertRefused(
  t: TestPlatform,
  name: string,
  r: TestResponse,
  code = 'compile_error',
  secrets: string[] = [SECRET],
): Promise<void> {
  assert.equal(r.status, 400, r.text.slice(0, 500));
  assert.equal(r.json.error.code, code, r.text.slice(0, 500));
  for (const s of secrets) assertNoPieceOf(s, r.text);
  assert.equal((await t.request('GET', `/v1/functions/${name}`)).status, 404, 'nothing was stored');
}

const tgz = async (entries: { name: string; data?: string }[]) => gzipSync(await makeTar(entries));
const putArchive = (t: TestPlatform, name: string, body: Buffer, config: Record<string, unknown> = {}) =>
  t.request('PUT', `/v1/functions/${name}`, body, {
    'content-type': 'application/gzip',
    'x-nimbus-config': JSON.stringify(config),
  });

/** This process's build cgroups and its child processes that are build workers (bubblewrap running the build worker). */
async function buildLeftovers(): Promise<string[]> {
  const found: string[] = [];
  for (const dir of ['/sys/fs/cgroup/memory/nimbus-build', '/sys/fs/cgroup/nimbus-build']) {
    for (const d of await readdir(dir).catch(() => [] as string[]))
      if (d.startsWith(`${process.pid}-`)) found.push(`cgroup ${d}`);
  }
  for (const pid of await readdir('/proc')) {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    const ppid = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1];
    const cmdline = ppid === String(process.pid) ? await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '') : '';
    if (cmdline.includes('/build/worker/main.ts')) found.push(`process ${pid} ${cmdline.split('\0')[0]}`);
  }
  return found.sort();
}

describe('deploys that reach outside their upload', () => {
  let t: TestPlatform;
  before(async () => {
    t = await startTestPlatform();
  });
  after(() => t.close());

  it('an absolute require of a root-only 0600 file is a 400 that names the import, not the content', async () => {
    const r = await t.deploy('abs', `exports.handler = () => require(${JSON.stringify(secretText)});`);
    await assertRefused(t, 'abs', r);
    assert.match(
      r.json.error.message,
      /import ".*secret\.txt" points outside the upload: only files inside the upload can be imported/,
    );
  });

  it('an ESM import of /etc/shadow is a 400 that quotes none of it', async () => {
    const shadow = (await readFile('/etc/shadow', 'utf8')).split('\n').filter((l) => l.length >= 8);
    const r = await t.deploy('shadow', `import s from '/etc/shadow'; export const handler = () => s;`);
    await assertRefused(t, 'shadow', r, 'compile_error', shadow);
    assert.match(r.json.error.message, /import "\/etc\/shadow" points outside the upload/);
  });

  it('"../" out of a single-file upload is a 400', async () => {
    const r = await t.deploy('dotdot', `exports.handler = () => require(${JSON.stringify(climb(secretText))});`);
    await assertRefused(t, 'dotdot', r);
    assert.match(r.json.error.message, /only files inside the upload can be imported/);
  });

  it('"../" out of an archive is a 400, from a nested file too', async () => {
    const body = await tgz([
      { name: 'index.js', data: `exports.handler = () => require('./lib/read.js');` },
      { name: 'lib/read.js', data: `module.exports = require(${JSON.stringify(climb(secretText))});` },
    ]);
    const r = await putArchive(t, 'dotdot-archive', body);
    await assertRefused(t, 'dotdot-archive', r);
    assert.match(r.json.error.message, /lib\/read\.js:1:\d+: import ".*" points outside the upload/);
  });

  it('a zip whose import climbs out is a 400 too', async () => {
    const body = makeZip([
      { name: 'index.js', data: Buffer.from(`export { default as handler } from ${JSON.stringify(climb(secretJs))};`) },
    ]);
    const r = await t.request('PUT', '/v1/functions/dotdot-zip', body, { 'content-type': 'application/zip' });
    await assertRefused(t, 'dotdot-zip', r);
  });

  it('the API key file in the data dir cannot be bundled', async () => {
    const { key } = await loadOrCreateApiKey(t.dataDir);
    const r = await t.deploy(
      'apikey',
      `exports.handler = () => require(${JSON.stringify(path.join(t.dataDir, 'api-key'))});`,
    );
    await assertRefused(t, 'apikey', r, 'compile_error', [key]);
  });

  it("another function's cached artifact cannot be bundled", async () => {
    const victim = await t.deploy('victim', `exports.handler = () => ${JSON.stringify(SECRET)};`);
    assert.equal(victim.status, 201, victim.text);
    assert.equal((await t.invoke('victim')).json, SECRET);
    const artifact = path.join(t.dataDir, 'artifacts', `${victim.json.artifact.sha256}.cjs`);
    assert.ok(existsSync(artifact), `the victim's artifact is cached at ${artifact}`);
    const r = await t.deploy('thief', `exports.handler = () => require(${JSON.stringify(artifact)}).handler();`);
    await assertRefused(t, 'thief', r);
  });

  it('a handler that names a file outside the archive is a 400', async () => {
    const handler = `${climb(secretJs).replace(/\.js$/, '')}.handler`;
    const r = await putArchive(t, 'entry-out', await tgz([{ name: 'index.js', data: 'exports.handler = () => 1;' }]), {
      handler,
    });
    await assertRefused(t, 'entry-out', r, 'bad_request');
    assert.match(r.json.error.message, /which is not in the archive/);
  });

  it('a package.json main outside the archive is not used as the entry', async () => {
    const body = await tgz([{ name: 'package.json', data: JSON.stringify({ main: climb(secretJs) }) }]);
    const r = await putArchive(t, 'main-out', body);
    await assertRefused(t, 'main-out', r, 'bad_request');
    assert.match(r.json.error.message, /no entry file in the archive/);
  });
});

describe('deploys that crash or exhaust the bundler', () => {
  let t: TestPlatform;
  before(async () => {
    t = await startTestPlatform();
  });
  after(() => t.close());

  for (const [label, code] of [
    ['a million parentheses', `export const handler = () => ${'('.repeat(1e6)}1${')'.repeat(1e6)};`],
    ['a million open brackets', `export const handler = () => ${'['.repeat(1e6)}`],
  ] as const) {
    it(
      `${label}: a 400 that says the code is nested too deeply, then deploys and invokes work`,
      { timeout: 120_000 },
      async () => {
        const r = await t.deploy('deep', code);
        await assertRefused(t, 'deep', r);
        assert.match(r.json.error.message, /the code could not be built: it is nested too deeply/);
        const ok = await t.deploy('after-deep', 'exports.handler = async (e) => ({ ok: e.n + 1 })');
        assert.ok(ok.status === 201 || ok.status === 200, ok.text);
        const inv = await t.invoke('after-deep', { n: 41 });
        assert.equal(inv.status, 200, inv.text);
        assert.deepEqual(inv.json, { ok: 42 });
        assert.equal((await t.request('GET', '/healthz')).status, 200);
      },
    );
  }

  it('a build over the time limit is a 400 that says so, and the next deploy works', { timeout: 120_000 }, async () => {
    const slow = await startTestPlatform({ buildTimeoutMs: 500 });
    try {
      // 15,000 chained modules: esbuild needs over a second for each of its two passes here.
      const N = 15_000;
      const files = Array.from({ length: N }, (_, i) => ({
        name: `m${i}.js`,
        data: `${i + 1 < N ? `require('./m${i + 1}.js');` : ''}exports.v${i} = [${i}, 1, 2, 3];`,
      }));
      const r = await putArchive(
        slow,
        'slow',
        await tgz([{ name: 'index.js', data: `require('./m0.js'); exports.handler = () => 1;` }, ...files]),
      );
      await assertRefused(slow, 'slow', r);
      assert.match(r.json.error.message, /the code could not be built: the build took longer than 0\.5 s/);
      const ok = await slow.deploy('quick', 'exports.handler = async () => "quick"');
      assert.ok(ok.status === 201 || ok.status === 200, ok.text);
      assert.equal((await slow.invoke('quick')).json, 'quick');
    } finally {
      await slow.close();
    }
  });

  it(
    'a build over the memory limit is a 400 that says so, and the next deploy works',
    { timeout: 120_000 },
    async () => {
      const small = await startTestPlatform({ buildMemoryMb: 256 });
      try {
        // 100,000 nested parentheses: esbuild's stack alone grows past 400 MB.
        const r = await small.deploy('big', `export const handler = () => ${'('.repeat(1e5)}1${')'.repeat(1e5)};`);
        await assertRefused(small, 'big', r);
        assert.match(r.json.error.message, /the code could not be built: the build needed more than 256 MB of memory/);
        const ok = await small.deploy('fine', 'exports.handler = async () => "fine"');
        assert.ok(ok.status === 201 || ok.status === 200, ok.text);
      } finally {
        await small.close();
      }
    },
  );
});

describe('ordinary deploys still build', () => {
  let t: TestPlatform;
  before(async () => {
    t = await startTestPlatform();
  });
  after(() => t.close());

  it('examples/hello.js', async () => {
    const r = await t.deploy('hello', await readFile('examples/hello.js', 'utf8'));
    assert.equal(r.status, 201, r.text);
    assert.equal((await t.invoke('hello', { name: 'build' })).json.message, 'Hello, build!');
  });

  it('examples/greeter-ts, a directory with node_modules', async () => {
    const r = await putArchive(t, 'greeter-ts', await packDirectory('examples/greeter-ts'));
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.config.language, 'typescript');
    const inv = await t.invoke('greeter-ts', { name: 'you', since: Date.now() - 90_000 });
    assert.equal(inv.status, 200, inv.text);
  });

  it('Node built-ins (fs, node:path) stay external', async () => {
    const r = await t.deploy(
      'builtins',
      `const fs = require('fs'); const p = require('node:path'); exports.handler = () => typeof fs.readFileSync + p.sep;`,
    );
    assert.equal(r.status, 201, r.text);
    assert.equal((await t.invoke('builtins')).json, 'function/');
  });

  it('removes the cgroups and workspaces of a platform process that was killed', async (ctx) => {
    const cgroupParent = ['/sys/fs/cgroup/memory/nimbus-build', '/sys/fs/cgroup/nimbus-build'].find((d) =>
      existsSync(d),
    );
    if (!cgroupParent) return ctx.skip('no build cgroup here');
    const gone = spawnSync('true').pid as number;
    const cgroup = path.join(cgroupParent, `${gone}-1`);
    const workspace = path.join(os.tmpdir(), `nimbus-build-${gone}-killed`);
    await mkdir(cgroup);
    await mkdir(path.join(workspace, 'workspace', 'upload'), { recursive: true });
    const next = await startTestPlatform();
    try {
      for (let i = 0; i < 100 && (existsSync(cgroup) || existsSync(workspace)); i++)
        await new Promise((r) => setTimeout(r, 50));
      assert.ok(!existsSync(cgroup), `${cgroup} is removed`);
      assert.ok(!existsSync(workspace), `${workspace} is removed`);
    } finally {
      await next.close();
      await rm(workspace, { recursive: true, force: true });
      await rmdir(cgroup).catch(() => undefined);
    }
  });

  it('leaves no build process or cgroup behind once closed', async () => {
    const before = await buildLeftovers();
    const other = await startTestPlatform();
    try {
      assert.equal((await other.deploy('one', 'exports.handler = () => 1')).status, 201);
      assert.equal((await other.deploy('two', 'exports.handler = () => 2')).status, 201);
      for (let i = 0; i < 100 && (await buildLeftovers()).length <= before.length; i++)
        await new Promise((r) => setTimeout(r, 50));
      const warm = await buildLeftovers();
      assert.ok(
        warm.length > before.length,
        `a warm build worker waits for the next deploy: ${warm.join(', ')} (before: ${before.join(', ')})`,
      );
    } finally {
      await other.close();
    }
    assert.deepEqual(await buildLeftovers(), before);
  });
});
