// Leftovers of a killed platform are removed when the next platform starts,
// for every engine, even one the new platform never uses; a second live
// platform's sandboxes survive that sweep. A platform (child process) runs a
// sandbox of each engine available here, one with a network namespace, and is
// killed with SIGKILL; its processes, run dirs, bundles, runc state and cgroups
// are recorded from the host beforehand; a new platform on the same data dir
// starts, deploys nothing, and they must be gone.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { ENGINE_KINDS } from '../../src/sandbox/driver.ts';
import { ownerOfSandboxId } from '../../src/sandbox/process/identities.ts';
import { serve, type Served } from '../helpers/cli.ts';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.ts';

const run = promisify(execFile);
const CODE = 'exports.handler = async () => ({ pid: process.pid });';
/** Engine cases: each engine, and the process engine with a network namespace (its helper processes). */
// One sandbox a function (maxSandboxes 1): the autoscaler would otherwise start a spare beside a
// slow first call (a microVM's), and the tests compare each function's sandbox before and after a sweep.
const CASES = [
  ...ENGINE_KINDS.map((engine) => ({ name: engine, config: { engine, maxSandboxes: 1 } })),
  { name: 'network', config: { engine: 'process', network: true, maxSandboxes: 1 } },
];

interface Proc {
  pid: number;
  ppid: number;
  start: string;
  uid: number;
  comm: string;
  kind?: string;
}
interface Evidence {
  procs: Proc[];
  paths: string[];
  containers: string[];
}

async function processes(): Promise<Proc[]> {
  const out: Proc[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = await readFile(`/proc/${name}/stat`, 'utf8').catch(() => '');
    const uid = (await stat(`/proc/${name}`).catch(() => undefined))?.uid;
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    if (!s || uid === undefined || f[0] === 'Z') continue;
    out.push({
      pid: Number(name),
      ppid: Number(f[1]),
      start: f[19] ?? '',
      uid,
      comm: s.slice(s.indexOf('(') + 1, s.lastIndexOf(')')),
    });
  }
  return out;
}

async function runcList(dataDir: string): Promise<{ id: string; pid: number; status: string }[]> {
  const { stdout } = await run('runc', ['--root', path.join(dataDir, 'runc'), 'list', '--format', 'json'], {
    env: { ...process.env, PATH: `${process.env.PATH ?? ''}:/usr/sbin:/sbin` },
  }).catch(() => ({ stdout: 'null' }));
  return (JSON.parse(stdout) ?? []) as { id: string; pid: number; status: string }[];
}

const hash = (dataDir: string, n: number) =>
  createHash('sha256').update(path.resolve(dataDir)).digest('hex').slice(0, n);
/** Child cgroups (directories) of a cgroup; its control files are not leftovers. */
const subdirs = async (dir: string) =>
  (await readdir(dir, { withFileTypes: true }).catch(() => []))
    .filter((e) => e.isDirectory())
    .map((e) => path.join(dir, e.name));
const list = async (dir: string) => (await readdir(dir).catch(() => [] as string[])).map((e) => path.join(dir, e));

/** What a platform (pid, data dir) holds on the host, by the names each engine gives its things. */
async function evidenceOf(pid: number, dataDir: string): Promise<Evidence> {
  const all = await processes();
  const containers = await runcList(dataDir);
  const ours = new Set([pid]);
  for (let grew = true; grew;) {
    grew = false;
    for (const p of all) if (ours.has(p.ppid) && !ours.has(p.pid)) grew = ours.add(p.pid).size > 0;
  }
  const runcPids = new Set(containers.map((c) => c.pid));
  const procs = all.filter(
    (p) => p.pid !== pid && (ours.has(p.pid) || ownerOfSandboxId(p.uid) === pid || runcPids.has(p.pid)),
  );
  // Which case a process belongs to: anything else the platform started (isolate pools under bwrap, esbuild) counts as isolate.
  for (const p of procs)
    p.kind = p.comm.startsWith('qemu')
      ? 'microvm'
      : runcPids.has(p.pid)
        ? 'container'
        : p.comm === 'slirp4netns' || p.comm.includes('holder')
          ? 'network'
          : ownerOfSandboxId(p.uid) === pid
            ? 'process'
            : 'isolate';
  const cgroupRoots = (await readFile('/proc/self/mounts', 'utf8'))
    .split('\n')
    .map((l) => l.split(' '))
    .filter((f) => f[2] === 'cgroup' || f[2] === 'cgroup2')
    .map((f) => f[1] ?? '');
  const uids = new Set(procs.map((p) => p.uid).filter((u) => ownerOfSandboxId(u) === pid));
  const paths = [
    ...(await list(os.tmpdir())).filter((p) => path.basename(p).startsWith(`nimbus-process-${pid}-`)),
    ...(await list(path.join(os.tmpdir(), `nimbus-microvm-${hash(dataDir, 8)}`))),
    ...(await list(path.join(dataDir, 'containers'))).filter((p) => path.basename(p) !== '.image'),
    ...cgroupRoots.flatMap((r) =>
      [...uids].flatMap((u) => [
        path.join(r, 'nimbus-process', String(u)),
        path.join(r, 'memory', 'nimbus-process', String(u)),
      ]),
    ),
    ...(await Promise.all(cgroupRoots.map((r) => subdirs(path.join(r, 'nimbus', hash(dataDir, 12)))))).flat(),
  ].filter((p) => existsSync(p));
  return { procs, paths, containers: containers.map((c) => c.id) };
}

/** The part of `e` still on the host (a process counts only if the same one runs: pid and start time). */
async function remaining(e: Evidence, dataDir: string): Promise<Evidence> {
  const live = await processes();
  const ids = new Set((await runcList(dataDir)).map((c) => c.id));
  return {
    procs: e.procs.filter((p) => live.some((l) => l.pid === p.pid && l.start === p.start)),
    paths: e.paths.filter((p) => existsSync(p)),
    containers: e.containers.filter((c) => ids.has(c)),
  };
}

/** The part of `e` that belongs to one case, by the names each engine gives its things. */
function ofCase(e: Evidence, name: string): Evidence {
  const pathKind = (p: string) =>
    p.includes('nimbus-process') ? 'process' : p.includes('nimbus-microvm-') ? 'microvm' : 'container';
  return {
    procs: e.procs.filter((p) => p.kind === name),
    paths: e.paths.filter((p) => pathKind(p) === name),
    containers: name === 'container' ? e.containers : [],
  };
}

const empty = (e: Evidence) => e.procs.length + e.paths.length + e.containers.length === 0;
const show = (e: Evidence) =>
  JSON.stringify({
    procs: e.procs.map((p) => `${p.pid} ${p.comm} uid ${p.uid}`),
    paths: e.paths,
    containers: e.containers,
  });

/** Starts a platform (child process) with one sandbox per available case; returns it and the cases that ran. */
async function platformWithSandboxes(
  dataDir: string,
  prefix: string,
): Promise<{ served: Served; ran: Map<string, string> }> {
  const served = await serve(['--data-dir', dataDir, '--functions-port', '0']);
  const ran = new Map<string, string>();
  for (const c of CASES) {
    const name = `${prefix}-${c.name}`;
    const put = await fetch(`${served.url}/v1/functions/${name}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ runtime: 'nodejs', code: CODE, ...c.config }),
    });
    assert.ok(put.status < 300, await put.text());
    const res = await fetch(`${served.url}/v1/functions/${name}/invoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    const body = await res.text();
    if (res.status === 200) ran.set(c.name, name);
    else assert.equal(res.status, 503, `engine case ${c.name}: ${body}`); // not available on this host
  }
  return { served, ran };
}

async function sandboxesOf(url: string): Promise<Map<string, string>> {
  const { sandboxes } = (await (await fetch(`${url}/v1/sandboxes`)).json()) as {
    sandboxes: { id: string; functionName: string }[];
  };
  return new Map(sandboxes.map((s) => [s.functionName, s.id]));
}

describe('leftovers of a killed platform', { timeout: 600_000 }, () => {
  const dirs: string[] = [];
  let killedRan = new Map<string, string>();
  let survivor: { served: Served; ran: Map<string, string> } | undefined;
  const evidence = new Map<string, { before: Evidence; afterKill: Evidence }>();
  let survivorEvidence: Evidence | undefined;
  let survivorSandboxes = new Map<string, string>();
  let next: TestPlatform | undefined;
  let startMs = 0;

  before(async () => {
    const [killedDir, liveDir] = [
      await mkdtemp(path.join(os.tmpdir(), 'nimbus-leftovers-')),
      await mkdtemp(path.join(os.tmpdir(), 'nimbus-live-')),
    ];
    dirs.push(killedDir, liveDir);
    survivor = await platformWithSandboxes(liveDir, 'live');
    survivorSandboxes = await sandboxesOf(survivor.served.url);
    const killed = await platformWithSandboxes(killedDir, 'gone');
    killedRan = killed.ran;
    const pid = killed.served.child.pid ?? 0;
    // What the killed platform held on the host; ofCase() splits it by engine.
    const all = await evidenceOf(pid, killedDir);
    survivorEvidence = await evidenceOf(survivor.served.child.pid ?? 0, liveDir);
    await killed.served.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 1000)); // helpers that end by themselves get the time to
    evidence.set('all', { before: all, afterKill: await remaining(all, killedDir) });
    const t = performance.now();
    next = await startTestPlatform({ dataDir: killedDir });
    startMs = performance.now() - t;
  });

  after(async () => {
    await next?.close();
    await survivor?.served.kill('SIGTERM');
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('the killed platform left things behind that only a sweep removes, and the next start removed all of them', async () => {
    const e = evidence.get('all')!;
    assert.ok(killedRan.has('process'), 'the process engine must run here');
    assert.ok(!empty(e.afterKill), `nothing was left after SIGKILL: ${show(e.before)}`);
    const left = await remaining(e.before, dirs[0]!);
    assert.ok(empty(left), `left after the next start: ${show(left)}`);
  });

  for (const c of CASES) {
    it(`${c.name}: the next platform's start removed the killed platform's ${c.name} leftovers, without using the engine`, async (t) => {
      if (!killedRan.has(c.name)) return t.skip(`the ${c.name} case is not available on this host`);
      const e = evidence.get('all')!;
      const mine = ofCase(e.before, c.name);
      // Isolate pools and network helpers end by themselves (bwrap --die-with-parent, end-of-file): checked, not expected.
      if (c.name !== 'isolate' && c.name !== 'network')
        assert.ok(!empty(mine), `the ${c.name} sandbox held nothing on the host before the kill: ${show(e.before)}`);
      const left = await remaining(mine, dirs[0]!);
      assert.ok(empty(left), `left after the next start: ${show(left)}`);
      const { sandboxes } = (await next!.request('GET', '/v1/sandboxes')).json as { sandboxes: unknown[] };
      assert.equal(sandboxes.length, 0, 'the new platform started no sandbox');
    });
  }

  it("a second live platform's sandboxes survive the sweep and still answer warm", async () => {
    assert.ok(survivor && survivorEvidence);
    const live: { served: Served; ran: Map<string, string> } = survivor;
    const left = await remaining(survivorEvidence, dirs[1]!);
    assert.equal(show(left), show(survivorEvidence), 'something of the live platform was removed');
    assert.deepEqual(await sandboxesOf(live.served.url), survivorSandboxes);
    for (const name of live.ran.values()) {
      const res = await fetch(`${live.served.url}/v1/functions/${name}/invoke`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
      assert.equal(res.status, 200, `${name}: ${await res.text()}`);
    }
    assert.deepEqual(
      await sandboxesOf(live.served.url),
      survivorSandboxes,
      'the live platform had to start new sandboxes',
    );
  });

  it("a platform started on a live platform's data dir leaves that platform's containers and VMs alone", async () => {
    assert.ok(survivor && survivorEvidence);
    const live: { served: Served; ran: Map<string, string> } = survivor;
    const second = await startTestPlatform({ dataDir: dirs[1]! });
    try {
      const left = await remaining(survivorEvidence, dirs[1]!);
      assert.equal(show(left), show(survivorEvidence), 'something of the live platform was removed');
      for (const name of live.ran.values()) {
        const res = await fetch(`${live.served.url}/v1/functions/${name}/invoke`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{}',
        });
        assert.equal(res.status, 200, `${name}: ${await res.text()}`);
      }
      assert.deepEqual(
        await sandboxesOf(live.served.url),
        survivorSandboxes,
        'the live platform had to start new sandboxes',
      );
    } finally {
      await second.close();
    }
  });

  it('the sweep keeps start fast', () => {
    assert.ok(startMs < 5000, `the platform took ${Math.round(startMs)} ms to start, sweeping included`);
  });
});
