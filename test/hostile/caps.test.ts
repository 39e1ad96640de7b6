// Finding 7 (nothing bounds the host) and the private-state part of finding 2,
// on a real embedded platform with small caps: deploys that could never fit are
// refused, calls and pre-warms past the platform caps get 429 naming the cap
// while idle sandboxes of other functions make room, the data directory is
// private after start (an existing loose one is tightened), and a cached
// artifact altered on disk never runs.
import assert from 'node:assert/strict';
import { chmod, lstat, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.ts';

const SLEEPER =
  'exports.handler = async (e) => { await new Promise((r) => setTimeout(r, e.ms ?? 0)); return { pid: process.pid }; };';

interface Listed {
  id: string;
  functionName: string;
  inflight: number;
}
async function sandboxes(t: TestPlatform): Promise<{ sandboxes: Listed[]; capacity: Record<string, number> }> {
  return (await t.request('GET', '/v1/sandboxes')).json;
}

/** Waits until `ok` holds for the listed sandboxes (bounded). */
async function until(t: TestPlatform, ok: (list: Listed[]) => boolean, what: string): Promise<Listed[]> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const { sandboxes: list } = await sandboxes(t);
    if (ok(list)) return list;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(list)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('admission control: the sandbox count cap', () => {
  let t: TestPlatform;
  before(async () => {
    t = await startTestPlatform({ maxSandboxesTotal: 2 });
  });
  after(() => t.close());

  it('refuses at deploy a minSandboxes that can never fit, and stores nothing', async () => {
    const r = await t.deploy('too-warm', SLEEPER, { minSandboxes: 3 });
    assert.equal(r.status, 400, r.text);
    assert.match(r.json.error.message, /maxSandboxesTotal \(2\)/);
    assert.equal((await t.request('GET', '/v1/functions/too-warm')).status, 404);
  });

  it("answers 429 with Retry-After past the cap, keeps serving, and evicts another function's idle sandbox for a call", async () => {
    assert.equal((await t.deploy('busy', SLEEPER, { memoryMb: 128 })).status, 201);
    assert.equal((await t.deploy('other', SLEEPER, { memoryMb: 128 })).status, 201);
    const slow = [t.invoke('busy', { ms: 2500 }), t.invoke('busy', { ms: 2500 })];
    await until(
      t,
      (l) => l.filter((s) => s.functionName === 'busy' && s.inflight === 1).length === 2,
      'two busy sandboxes',
    );
    const refused = await t.invoke('other');
    assert.equal(refused.status, 429, refused.text);
    assert.equal(refused.json.error.code, 'throttled');
    assert.ok(Number(refused.headers.get('retry-after')) >= 1);
    assert.match(refused.json.error.message, /maxSandboxesTotal = 2/);
    assert.deepEqual((await sandboxes(t)).capacity, {
      sandboxes: 2,
      memoryMb: 256,
      maxSandboxesTotal: 2,
      sandboxMemoryTotalMb: t.platform.config.sandboxMemoryTotalMb,
    });
    for (const r of await Promise.all(slow)) assert.equal(r.status, 200, r.text);

    // Both busy sandboxes are idle now: a call to the other function evicts one of them.
    const admitted = await t.invoke('other');
    assert.equal(admitted.status, 200, admitted.text);
    assert.equal(admitted.headers.get('x-nimbus-cold-start'), 'true');
    const list = (await sandboxes(t)).sandboxes;
    assert.deepEqual(list.map((s) => s.functionName).sort(), ['busy', 'other']);
    assert.equal((await t.invoke('busy')).status, 200, 'the function that lost a sandbox still runs warm');
  });

  it('refuses a pre-warm past the cap with 429 naming it (a pre-warm never evicts)', async () => {
    const before = (await sandboxes(t)).sandboxes.length;
    assert.equal(before, 2);
    const r = await t.request('POST', '/v1/functions/other/sandboxes');
    assert.equal(r.status, 429, r.text);
    assert.match(r.json.error.message, /maxSandboxesTotal = 2/);
    assert.equal((await sandboxes(t)).sandboxes.length, 2);
  });

  it('keeps warm what fits of a minSandboxes that the caps cut short, and still accepts the deploy', async () => {
    const [first] = (await sandboxes(t)).sandboxes.filter((s) => s.functionName === 'other');
    assert.equal((await t.request('DELETE', `/v1/sandboxes/${first!.id}`)).status, 200);
    const d = await t.deploy('warm2', SLEEPER, { memoryMb: 128, minSandboxes: 2 });
    assert.equal(d.status, 201, d.text);
    await until(t, (l) => l.some((s) => s.functionName === 'warm2'), 'a warm2 sandbox');
    await new Promise((r) => setTimeout(r, 500));
    const { sandboxes: list, capacity } = await sandboxes(t);
    assert.equal(list.filter((s) => s.functionName === 'warm2').length, 1, 'one of two fits');
    assert.equal(capacity.sandboxes, 2);
  });

  it('exports the caps and their use as Prometheus gauges', async () => {
    const m = await t.request('GET', '/metrics');
    assert.match(m.text, /nimbus_sandbox_capacity\{resource="sandboxes",measure="limit"\} 2/);
    assert.match(m.text, /nimbus_sandbox_capacity\{resource="sandboxes",measure="admitted"\} 2/);
  });
});

describe('admission control: eviction order', () => {
  let t: TestPlatform;
  before(async () => {
    t = await startTestPlatform({ maxSandboxesTotal: 2 });
  });
  after(() => t.close());

  it('evicts the least recently used idle sandbox of another function', async () => {
    for (const name of ['a', 'b', 'c']) assert.equal((await t.deploy(name, SLEEPER, { memoryMb: 128 })).status, 201);
    const names = async () => (await sandboxes(t)).sandboxes.map((s) => s.functionName).sort();
    for (const name of ['a', 'b', 'c']) assert.equal((await t.invoke(name)).status, 200);
    assert.deepEqual(await names(), ['b', 'c'], 'a, used longest ago, made room for c');
    assert.equal((await t.invoke('b')).headers.get('x-nimbus-cold-start'), 'false');
    assert.equal((await t.invoke('a')).status, 200);
    assert.deepEqual(await names(), ['a', 'b'], 'c, now the least recently used, made room for a');
  });
});

describe('admission control: the memory cap', () => {
  let t: TestPlatform;
  before(async () => {
    t = await startTestPlatform({ sandboxMemoryTotalMb: 384 });
  });
  after(() => t.close());

  it('refuses at deploy minSandboxes × memoryMb over the cap', async () => {
    const r = await t.deploy('fat-warm', SLEEPER, { memoryMb: 256, minSandboxes: 2 });
    assert.equal(r.status, 400, r.text);
    assert.match(r.json.error.message, /sandboxMemoryTotalMb \(384 MB\)/);
    assert.equal((await t.request('GET', '/v1/functions/fat-warm')).status, 404);
  });

  it('answers 429 when two functions together would exceed it', async () => {
    assert.equal((await t.deploy('m1', SLEEPER, { memoryMb: 256 })).status, 201);
    assert.equal((await t.deploy('m2', SLEEPER, { memoryMb: 256 })).status, 201);
    const slow = t.invoke('m1', { ms: 2000 });
    await until(t, (l) => l.some((s) => s.functionName === 'm1' && s.inflight === 1), 'm1 busy');
    const r = await t.invoke('m2');
    assert.equal(r.status, 429, r.text);
    assert.match(r.json.error.message, /sandboxMemoryTotalMb = 384 MB/);
    assert.ok(r.headers.get('retry-after'));
    assert.equal((await slow).status, 200);
  });
});

describe('admission control: a container resize', () => {
  let t: TestPlatform;
  let available = false;
  before(async () => {
    t = await startTestPlatform({ sandboxMemoryTotalMb: 512 });
    available = (await t.request('GET', '/v1/engines')).json.engines.container?.available === true;
  });
  after(() => t.close());

  it('runs containers through the private data directory, in a user namespace, and admits a resize only within the memory cap', async (c) => {
    if (!available) return c.skip('the container engine is not available here');
    assert.match(
      (await t.request('GET', '/v1/engines')).json.engines.container.details.identity,
      /^user namespace/,
      'the 0711 data directory keeps the user namespace',
    );
    assert.equal(
      (
        await t.deploy('boxed', 'exports.handler = async () => process.getuid();', {
          engine: 'container',
          memoryMb: 128,
        })
      ).status,
      201,
    );
    const r = await t.invoke('boxed');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json, 65534);
    const [box] = (await sandboxes(t)).sandboxes;
    const tooBig = await t.request('PATCH', `/v1/sandboxes/${box!.id}`, { memoryMb: 1024 });
    assert.equal(tooBig.status, 429, tooBig.text);
    assert.match(tooBig.json.error.message, /sandboxMemoryTotalMb = 512 MB/);
    const fits = await t.request('PATCH', `/v1/sandboxes/${box!.id}`, { memoryMb: 256 });
    assert.equal(fits.status, 200, fits.text);
    assert.equal((await sandboxes(t)).capacity.memoryMb, 256);
    assert.equal((await t.invoke('boxed')).status, 200);
  });
});

/** Every entry under dir with its mode, containers/ (left to the container engine) excepted. */
async function modes(dir: string, rel = ''): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const name of await readdir(path.join(dir, rel))) {
    const p = path.join(rel, name);
    if (p === 'containers') continue;
    const info = await lstat(path.join(dir, p));
    if (info.isSymbolicLink()) continue;
    out.set(p, info.mode & 0o7777);
    if (info.isDirectory()) for (const [k, v] of await modes(dir, p)) out.set(k, v);
  }
  return out;
}

describe('private platform state', () => {
  let parent: string;
  before(async () => {
    parent = await mkdtemp(path.join(os.tmpdir(), 'nimbus-caps-'));
  });
  after(() => rm(parent, { recursive: true, force: true }));

  it('keeps the data directory private after a start, a deploy and a call', async () => {
    const dataDir = path.join(parent, 'fresh');
    const t = await startTestPlatform({ dataDir });
    try {
      assert.equal((await t.deploy('f', SLEEPER)).status, 201);
      assert.equal((await t.invoke('f')).status, 200);
    } finally {
      await t.close();
    }
    assert.equal(
      (await lstat(dataDir)).mode & 0o777,
      0o711,
      'the data directory: searchable (containers), not listable',
    );
    assert.equal(
      (await lstat(path.join(dataDir, 'build'))).mode & 0o777,
      0o711,
      'runtime bundles: searchable, not listable',
    );
    const all = await modes(dataDir);
    for (const name of ['nimbus.db', 'artifacts', 'build']) assert.ok(all.has(name), `${name} exists`);
    for (const [p, mode] of all) {
      if (p === 'build' || p.startsWith('build/'))
        assert.equal(mode & 0o022, 0, `${p} (runtime bundles) is not writable by others: ${mode.toString(8)}`);
      else assert.equal(mode & 0o077, 0, `${p} has group/other bits: ${mode.toString(8)}`);
    }
  });

  it('tightens an existing data directory with loose modes at start', async () => {
    const dataDir = path.join(parent, 'loose');
    await mkdir(path.join(dataDir, 'artifacts'), { recursive: true });
    await mkdir(path.join(dataDir, 'images', 'abc'), { recursive: true });
    await mkdir(path.join(dataDir, 'build'), { recursive: true });
    await writeFile(path.join(dataDir, 'api-key'), 'k'.repeat(32));
    await writeFile(path.join(dataDir, 'images', 'abc', 'snap.vmstate'), 'memory');
    await writeFile(path.join(dataDir, 'build', 'agent.cjs'), '// agent');
    for (const [p, m] of [
      ['', 0o755],
      ['artifacts', 0o777],
      ['images', 0o755],
      ['images/abc', 0o755],
      ['build', 0o755],
    ] as const)
      await chmod(path.join(dataDir, p), m);
    for (const [p, m] of [
      ['api-key', 0o644],
      ['images/abc/snap.vmstate', 0o666],
      ['build/agent.cjs', 0o666],
    ] as const)
      await chmod(path.join(dataDir, p), m);
    const t = await startTestPlatform({ dataDir, withInvoker: false });
    await t.close();
    const all = await modes(dataDir);
    assert.equal((await lstat(dataDir)).mode & 0o777, 0o711);
    assert.equal(all.get('artifacts'), 0o700);
    assert.equal(all.get('images'), 0o700);
    assert.equal(all.get('images/abc'), 0o700);
    assert.equal(all.get('api-key'), 0o600);
    assert.equal(all.get('images/abc/snap.vmstate'), 0o600);
    assert.equal(all.get('build'), 0o711);
    assert.equal(all.get('build/agent.cjs'), 0o644);
  });
});

describe('cached artifacts are verified when loaded', () => {
  let t: TestPlatform;
  before(async () => {
    t = await startTestPlatform();
  });
  after(() => t.close());

  it('detects a cached artifact overwritten on disk and runs the genuine code', async () => {
    const d = await t.deploy('genuine', 'exports.handler = async () => "genuine";');
    assert.equal(d.status, 201, d.text);
    assert.equal((await t.invoke('genuine')).json, 'genuine');
    const file = path.join(t.dataDir, 'artifacts', `${d.json.artifact.sha256}.cjs`);
    const original = await readFile(file, 'utf8');
    // What a hostile function with the platform's rights did in finding 2.
    await chmod(file, 0o600);
    await writeFile(file, 'exports.handler = async () => "tampered";');
    for (const s of (await sandboxes(t)).sandboxes)
      assert.equal((await t.request('DELETE', `/v1/sandboxes/${s.id}`)).status, 200);
    const r = await t.invoke('genuine');
    assert.equal(r.headers.get('x-nimbus-cold-start'), 'true');
    assert.equal(r.json, 'genuine');
    assert.equal(await readFile(file, 'utf8'), original, "the cache holds the store's copy again");
  });
});
