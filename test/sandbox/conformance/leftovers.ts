// What "dispose leaves nothing behind" means: generic checks every driver
// gets (the pid in its details no longer runs; nothing named after it, and no
// path its details reported, remains in the data dir) and a small map of
// extra checks for engines with resources of their own.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { EngineKind, SandboxInfo, SandboxSpec } from '../../../src/sandbox/driver.ts';

type LeftoverCheck = (info: SandboxInfo, dataDir: string) => Promise<void>;

interface HostProcess {
  pid: number;
  ppid: number;
  pgrp: number;
  comm: string;
}

/** Live (not zombie) host processes; a zombie holds nothing but its pid entry. */
async function liveProcesses(): Promise<HostProcess[]> {
  const live: HostProcess[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = await readFile(`/proc/${name}/stat`, 'utf8').catch(() => '');
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const [state, ppid, pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (state && state !== 'Z') live.push({ pid: Number(name), ppid: Number(ppid), pgrp: Number(pgrp), comm });
  }
  return live;
}

/** Strings that name this sandbox's resources: its id, and its container id when it reports one. */
function namesOf(info: SandboxInfo): string[] {
  return [info.id, info.details.containerId].filter((n): n is string => typeof n === 'string' && n.length > 0);
}

async function pathsNamed(dir: string, names: string[]): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true }).catch(() => [] as string[]);
  return entries.filter((rel) => names.some((n) => path.basename(rel).includes(n))).map((rel) => path.join(dir, rel));
}

const generic: LeftoverCheck = async (info, dataDir) => {
  const pid = info.details.pid;
  if (typeof pid === 'number') {
    const alive = (await liveProcesses()).some((p) => p.pid === pid);
    assert.equal(alive, false, `pid ${pid} of sandbox ${info.id} still runs after dispose`);
  }
  assert.deepEqual(
    await pathsNamed(dataDir, namesOf(info)),
    [],
    `files named after sandbox ${info.id} remain in ${dataDir}`,
  );
  const reported = Object.values(info.details).filter(
    (v): v is string => typeof v === 'string' && v.startsWith(dataDir + path.sep),
  );
  const remaining = reported.filter((p) => existsSync(p));
  assert.deepEqual(remaining, [], `paths that sandbox ${info.id} reported in its details remain after dispose`);
};

/** Cgroup directories at `cgroupsPath` that still exist, in every mounted hierarchy. */
async function cgroupDirs(cgroupsPath: string): Promise<string[]> {
  const mounts = (await readFile('/proc/self/mounts', 'utf8')).split('\n').map((line) => line.split(' '));
  const roots = mounts.filter((f) => f[2] === 'cgroup' || f[2] === 'cgroup2').map((f) => f[1] ?? '');
  return roots.map((root) => path.join(root, cgroupsPath)).filter((dir) => existsSync(dir));
}

const run = promisify(execFile);

async function runcContainers(dataDir: string): Promise<{ id: string; bundle: string }[]> {
  const PATH = `${process.env.PATH ?? ''}:/usr/sbin:/sbin`; // Debian keeps runc in /usr/sbin
  const { stdout } = await run('runc', ['--root', path.join(dataDir, 'runc'), 'list', '--format', 'json'], {
    env: { ...process.env, PATH },
  });
  return (JSON.parse(stdout) ?? []) as { id: string; bundle: string }[];
}

const EXTRA: Partial<Record<EngineKind, LeftoverCheck>> = {
  process: async (info) => {
    const pid = info.details.pid;
    if (typeof pid !== 'number') return;
    const group = (await liveProcesses()).filter((p) => p.pgrp === pid).map((p) => p.pid);
    assert.deepEqual(
      group,
      [],
      `processes of sandbox ${info.id} (process group ${String(pid)}) still run after dispose`,
    );
  },
  container: async (info, dataDir) => {
    const containers = await runcContainers(dataDir);
    const names = namesOf(info);
    const left = containers.filter((c) => names.some((n) => c.id.includes(n) || c.bundle.includes(n)));
    assert.deepEqual(left, [], `runc still lists the container of sandbox ${info.id}`);
    const cgroupsPath = info.details.cgroupsPath;
    if (typeof cgroupsPath === 'string')
      assert.deepEqual(await cgroupDirs(cgroupsPath), [], `cgroups of sandbox ${info.id} remain`);
  },
  microvm: async (info) => {
    // QEMU's run directories (sockets, pid file) live in <tmpdir>/nimbus-microvm-<hash>/, short for unix socket paths.
    const roots = (await readdir(tmpdir())).filter((name) => name.startsWith('nimbus-microvm-'));
    const left = (await Promise.all(roots.map((root) => pathsNamed(path.join(tmpdir(), root), namesOf(info))))).flat();
    assert.deepEqual(left, [], `run directories of sandbox ${info.id} remain`);
  },
};

/** Asserts that nothing of the disposed sandbox (as described by `info` taken before dispose) remains. */
export async function assertNothingLeft(kind: EngineKind, info: SandboxInfo, dataDir: string): Promise<void> {
  await generic(info, dataDir);
  await EXTRA[kind]?.(info, dataDir);
}

/** After a create() that failed: nothing named after the sandbox the spec asked for remains. */
export function assertNothingLeftOfSpec(kind: EngineKind, spec: SandboxSpec, dataDir: string): Promise<void> {
  const { id, functionName, functionVersion, memoryMb, cpus } = spec;
  return assertNothingLeft(
    kind,
    { id, engine: kind, functionName, functionVersion, state: 'dead', memoryMb, cpus, createdAt: '', details: {} },
    dataDir,
  );
}

/**
 * After driver.dispose(): no child process of this (platform) process runs, but
 * esbuild's service, which bundling the fixtures started; and for containers,
 * runc lists nothing in the driver's root.
 */
export async function assertDriverLeftNothing(kind: EngineKind, dataDir: string): Promise<void> {
  const children = (await liveProcesses()).filter((p) => p.ppid === process.pid && p.comm !== 'esbuild');
  assert.deepEqual(children, [], `the ${kind} driver left child processes running after dispose`);
  if (kind === 'container')
    assert.deepEqual(await runcContainers(dataDir), [], 'runc still lists containers after the driver was disposed');
}
