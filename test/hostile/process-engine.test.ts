// Finding 2 of issue 13 on a real embedded platform: a `process` function
// tries what a function running as the platform's own user could do, and the
// wall holds. It cannot signal the platform, read the data directory (store,
// api-key, artifacts) or /etc/shadow, write outside its own /tmp (nor alter
// another function's artifact), fill the host's /tmp, fork without bound,
// use more memory than it was given through a child process,
// leave processes behind after its function is deleted, or reach the host's
// loopback without network; it runs as an unprivileged uid without
// capabilities. Each attempt that succeeded on the unconfined engine fails here.
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.ts';
import { leaksSince, snapshot, STRAY_SLEEP } from './leaks.ts';

const REPO = path.resolve(import.meta.dirname, '../..');

let t: TestPlatform;
let unavailable: string | false = false;
before(async () => {
  t = await startTestPlatform();
  const process = (await t.request('GET', '/v1/engines')).json.engines.process;
  if (!process?.available) unavailable = `process engine unavailable here: ${process?.reason}`;
  const hello = await t.deploy('hello', 'exports.handler = async () => "hello"', { engine: 'process' });
  assert.ok(hello.status === 201 || hello.status === 200, hello.text);
});
after(() => t.close());

/** Deploys `code` as a process function, calls it once with `event`, and returns the result (the call must succeed). */
async function run(
  code: string,
  event: unknown = {},
  config: Record<string, unknown> = {},
): Promise<{ name: string; body: any }> {
  const name = `pe-${randomUUID().slice(0, 8)}`;
  const d = await t.deploy(name, code, { engine: 'process', timeoutMs: 20_000, ...config });
  assert.ok(d.status === 201 || d.status === 200, d.text);
  const r = await t.invoke(name, event);
  assert.equal(r.status, 200, `the function itself failed: ${r.text.slice(0, 500)}`);
  return { name, body: r.json };
}

async function assertPlatformServes(): Promise<void> {
  assert.equal((await t.request('GET', '/healthz')).status, 200);
  assert.equal((await t.invoke('hello')).status, 200, 'the platform still runs functions');
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
}

/** Tries each path with `op` inside the function; returns { path: 'ok' | error code }. */
const ATTEMPT = `const attempt = (paths, op) => Object.fromEntries(paths.map((p) => { try { op(p); return [p, 'ok']; } catch (e) { return [p, e.code || e.message]; } }));`;

describe('process engine: the wall around a hostile function', () => {
  it('cannot kill its parent or the platform; the platform answers afterwards', async (ctx) => {
    if (unavailable) return ctx.skip(unavailable);
    const code = `exports.handler = async (e) => {
      const out = { ppid: process.ppid, parentIsPlatform: process.ppid === e.platformPid };
      if (out.parentIsPlatform) return out; // unconfined: killing it would stop this test run
      for (const [k, pid] of [['parent', process.ppid], ['platform', e.platformPid]]) {
        try { process.kill(pid, 'SIGKILL'); out[k] = 'sent'; } catch (x) { out[k] = x.code; }
      }
      return out;
    }`;
    const { body } = await run(code, { platformPid: process.pid });
    assert.equal(body.parentIsPlatform, false, "the function's parent process is the platform itself");
    assert.ok(['ESRCH', 'EPERM'].includes(body.platform), `signalling the platform's pid gave ${body.platform}`);
    await new Promise((r) => setTimeout(r, 200));
    await assertPlatformServes();
  });

  it('cannot read the data directory (store, api-key, artifacts) nor /etc/shadow', async (ctx) => {
    if (unavailable) return ctx.skip(unavailable);
    const secrets = [...(await filesUnder(t.dataDir)), '/etc/shadow'];
    assert.ok(
      secrets.some((f) => f.includes('artifacts')),
      `no artifact in ${t.dataDir} to try: ${secrets.join(', ')}`,
    );
    const code = `${ATTEMPT} exports.handler = async (e) => ({
      read: attempt(e.files, (p) => require('fs').readFileSync(p)),
      list: attempt([e.dataDir, e.dataDir + '/artifacts'], (p) => require('fs').readdirSync(p)),
    })`;
    const { body } = await run(code, { files: secrets, dataDir: t.dataDir });
    const reached = Object.entries({ ...body.read, ...body.list }).filter(([, v]) => v === 'ok');
    assert.deepEqual(reached, [], 'the function reached platform files');
  });

  it("cannot write outside its /tmp, nor alter another function's artifact", async (ctx) => {
    if (unavailable) return ctx.skip(unavailable);
    const tag = randomUUID().slice(0, 8);
    const artifacts = (await filesUnder(t.dataDir)).filter((f) => f.includes(`${path.sep}artifacts${path.sep}`));
    const sums = new Map(
      await Promise.all(
        artifacts.map(
          async (f) =>
            [
              f,
              createHash('sha256')
                .update(await readFile(f))
                .digest('hex'),
            ] as const,
        ),
      ),
    );
    const targets = ['/root', REPO, '/var/tmp', t.dataDir, '/', '/dev'].map((d) =>
      path.join(d, `nimbus-hostile-write-${tag}`),
    );
    try {
      const code = `${ATTEMPT} exports.handler = async (e) => ({
        create: attempt(e.targets, (p) => require('fs').writeFileSync(p, 'x')),
        overwrite: attempt(e.artifacts, (p) => require('fs').writeFileSync(p, 'exports.handler = async () => "hijacked"')),
        tmp: attempt(['/tmp/mine'], (p) => require('fs').writeFileSync(p, 'x')),
      })`;
      const { body } = await run(code, { targets, artifacts });
      assert.equal(body.tmp['/tmp/mine'], 'ok', 'its own /tmp is writable');
      const written = Object.entries({ ...body.create, ...body.overwrite }).filter(([, v]) => v === 'ok');
      assert.deepEqual(written, [], 'the function wrote outside its /tmp');
      assert.deepEqual(
        targets.filter((f) => existsSync(f)),
        [],
        'files appeared on the host',
      );
      for (const [f, sum] of sums)
        assert.equal(createHash('sha256').update(readFileSync(f)).digest('hex'), sum, `artifact ${f} changed`);
    } finally {
      await Promise.all(targets.map((f) => rm(f, { force: true })));
    }
  });

  it("cannot fill the host's /tmp or memory: its own /tmp and /dev/shm are capped", async (ctx) => {
    if (unavailable) return ctx.skip(unavailable);
    const name = `nimbus-hostile-fill-${randomUUID().slice(0, 8)}`;
    try {
      const code = `exports.handler = async (e) => { const fs = require('fs'); const chunk = Buffer.alloc(1 << 20, 1);
        const fill = (file) => { let mb = 0; try { while (mb < 200) { fs.appendFileSync(file, chunk); mb++; } return { mb, stopped: 'never' }; }
          catch (x) { fs.rmSync(file, { force: true }); return { mb, stopped: x.code }; } };
        return { tmp: fill('/tmp/' + e.name), shm: fill('/dev/shm/' + e.name) }; }`;
      const { body } = await run(code, { name }, { timeoutMs: 60_000 });
      assert.equal(body.tmp.stopped, 'ENOSPC', `writing 200 MB to /tmp: ${JSON.stringify(body)}`);
      assert.ok(body.tmp.mb <= 64, `${body.tmp.mb} MB fit in /tmp, over its 64 MB cap`);
      assert.equal(body.shm.stopped, 'ENOSPC', `writing 200 MB to /dev/shm: ${JSON.stringify(body)}`);
      assert.ok(body.shm.mb <= 16, `${body.shm.mb} MB fit in /dev/shm, over its 16 MB cap`);
      assert.equal(existsSync(path.join(os.tmpdir(), name)), false, "the file reached the host's /tmp");
    } finally {
      await rm(path.join(os.tmpdir(), name), { force: true });
    }
  });

  it('bounds the memory of the processes it starts, not only its own', { timeout: 120_000 }, async (ctx) => {
    if (unavailable) return ctx.skip(unavailable);
    // A child allocates and touches 1 GB: the agent's heap cap and RSS watchdog never see it.
    const code = `exports.handler = async () => { const r = require('child_process').spawnSync(process.execPath, ['-e', 'const b = Buffer.alloc(1 << 30); b.fill(1); console.log(b.length)'], { encoding: 'utf8' });
      return { status: r.status, signal: r.signal, out: r.stdout.trim() }; }`;
    const name = `pe-${randomUUID().slice(0, 8)}`;
    const d = await t.deploy(name, code, { engine: 'process', memoryMb: 128, timeoutMs: 60_000 });
    assert.ok(d.status === 201 || d.status === 200, d.text);
    const r = await t.invoke(name);
    if (r.status === 200)
      assert.equal(r.json.signal, 'SIGKILL', `the child allocated 1 GB in a 128 MB sandbox: ${r.text}`);
    else assert.equal(r.json?.error?.code, 'memory_exhausted', r.text.slice(0, 300));
    await assertPlatformServes();
  });

  it('bounds a fork bomb, and the platform keeps serving', { timeout: 120_000 }, async (ctx) => {
    if (unavailable) return ctx.skip(unavailable);
    const host = await snapshot();
    const code = `exports.handler = async () => { const cp = require('child_process'); let i = 0;
      for (; i < 1000; i++) { try { const c = cp.spawn('sleep', ['${STRAY_SLEEP}'], { stdio: 'ignore' }); c.on('error', () => {}); c.unref(); if (c.pid === undefined) return { stopped: 'fork failed', after: i }; } catch (x) { return { stopped: x.code || x.message, after: i }; } }
      return { stopped: 'never', after: i }; }`;
    const { name, body } = await run(code);
    assert.notEqual(body.stopped, 'never', 'a thousand processes started: no pids limit');
    assert.ok(body.after < 128, `${body.after} processes started before the limit`);
    await assertPlatformServes();
    assert.equal((await t.request('DELETE', `/v1/functions/${name}`)).status, 200);
    assert.deepEqual(await leaksSince(host), [], 'processes of the deleted function remain');
  });

  it('leaves no detached or double-forked process once its function is deleted', async (ctx) => {
    if (unavailable) return ctx.skip(unavailable);
    const host = await snapshot();
    const code = `exports.handler = async () => { const cp = require('child_process');
      cp.spawn('sh', ['-c', 'sleep ${STRAY_SLEEP} & sleep ${STRAY_SLEEP} &'], { detached: true, stdio: 'ignore' }).unref();
      cp.spawn('setsid', ['sleep', '${STRAY_SLEEP}'], { detached: true, stdio: 'ignore' }).unref();
      await new Promise((r) => setTimeout(r, 300)); return 'spawned'; }`;
    const { name } = await run(code);
    const strays = [...(await snapshot()).sleepers].filter((p) => !host.sleepers.has(p));
    assert.ok(strays.length >= 3, `expected 3 stray sleeps running before the delete, found ${strays.length}`);
    assert.equal((await t.request('DELETE', `/v1/functions/${name}`)).status, 200);
    assert.deepEqual(await leaksSince(host), [], 'processes of the deleted function remain');
  });

  it('runs as an unprivileged uid of its own, without capabilities', async (ctx) => {
    if (unavailable) return ctx.skip(unavailable);
    const code = `exports.handler = async () => ({ uid: process.getuid(), gid: process.getgid(), groups: process.getgroups(),
      capEff: /CapEff:\\s+(\\w+)/.exec(require('fs').readFileSync('/proc/self/status', 'utf8'))[1] })`;
    const { name, body } = await run(code);
    assert.notEqual(body.uid, 0);
    assert.notEqual(body.gid, 0);
    assert.ok(!body.groups.includes(0), `member of group 0: ${body.groups}`);
    assert.match(body.capEff, /^0+$/, 'effective capabilities inside the sandbox');
    const listed = (await t.request('GET', '/v1/sandboxes')).json.sandboxes.find((s: any) => s.functionName === name);
    const status = readFileSync(`/proc/${listed.details.pid}/status`, 'utf8');
    assert.equal(
      /^Uid:\s+(\d+)/m.exec(status)?.[1],
      String(body.uid),
      'the sandbox runs on the host as the uid the function sees',
    );
    const other = await run(code);
    assert.notEqual(other.body.uid, body.uid, 'two sandboxes share a uid');
  });

  it("cannot connect to the host's loopback with network off", async (ctx) => {
    if (unavailable) return ctx.skip(unavailable);
    let connections = 0;
    const server = net.createServer((s) => {
      connections++;
      s.destroy();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as net.AddressInfo).port;
      const code = `exports.handler = async (e) => new Promise((resolve) => { const s = require('net').connect(e.port, '127.0.0.1');
        s.on('connect', () => { s.destroy(); resolve('connected'); }); s.on('error', (x) => resolve(x.code)); setTimeout(() => resolve('no answer'), 3000); })`;
      const { body } = await run(code, { port });
      assert.notEqual(body, 'connected');
      assert.equal(connections, 0, 'the host listener saw a connection');
    } finally {
      server.close();
    }
  });
});
