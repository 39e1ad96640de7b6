// The OS sandbox around the isolate pool: bubblewrap with every namespace
// unshared (no network: only a loopback of its own; own pid, ipc, uts and
// mount namespaces), no capabilities, a read-only view of the system
// libraries, Node, isolated-vm and the two bundles, a fresh /tmp, death
// with its parent, all under /nimbus, and the sandboxes' system-call filter
// (src/sandbox/seccomp/). Host files such as /etc and the data dir are not
// there.
import { execFile } from 'node:child_process';
import { existsSync, lstatSync, readlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { promisify } from 'node:util';
import { seccompArgs } from '../seccomp/filter.ts';
import { dropToUid, UID_DROP_CAPS } from '../uid-drop.ts';
import type { IsolateBundles } from './bundle.ts';

/** The isolated-vm package directory in the project's node_modules. */
export function isolatedVmDir(): string {
  return path.dirname(createRequire(import.meta.url).resolve('isolated-vm/package.json'));
}

/** node-gyp-build, which isolated-vm 7 requires to pick its prebuilt binary for this Node. */
export function nodeGypBuildDir(): string {
  return path.dirname(createRequire(path.join(isolatedVmDir(), 'package.json')).resolve('node-gyp-build/package.json'));
}

/** bubblewrap's path, or undefined when it is not installed. */
export function findBwrap(): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/bin', '/usr/local/bin', '/bin'];
  return dirs.map((d) => path.join(d, 'bwrap')).find((p) => existsSync(p));
}

export async function bwrapVersion(bwrap: string): Promise<string> {
  const { stdout } = await promisify(execFile)(bwrap, ['--version'], { timeout: 5000 });
  return stdout.trim();
}

/** /bin, /lib, /lib64, /sbin: the same symlink where the host has merged /usr, else a read-only bind. */
function systemDirs(): string[] {
  const args: string[] = ['--ro-bind', '/usr', '/usr'];
  for (const dir of ['/bin', '/sbin', '/lib', '/lib64', '/lib32']) {
    if (!existsSync(dir)) continue;
    if (lstatSync(dir).isSymbolicLink()) args.push('--symlink', readlinkSync(dir), dir);
    else args.push('--ro-bind', dir, dir);
  }
  return args;
}

/** Where the pool finds what it needs inside the sandbox (no host path shows through). */
/** The descriptor the pool's bubblewrap reads the system-call filter from (a pipe; pool-process.ts writes it). */
export const SECCOMP_FD = 4;

export const INSIDE = {
  dir: '/nimbus',
  pool: '/nimbus/pool.cjs',
  runtime: '/nimbus/runtime.js',
  ivm: '/nimbus/node_modules/isolated-vm',
  gypBuild: '/nimbus/node_modules/node-gyp-build',
  node: '/nimbus/bin/node',
};

/**
 * The pool's command line. With `uid` (a root platform), root starts bubblewrap, so that the bundles,
 * isolated-vm and Node can be bound from wherever they live, and setpriv drops to that uid before
 * Node starts (uid-drop.ts); without it, bubblewrap runs in a user namespace of the caller's own.
 */
export function poolCommand(
  bwrap: string,
  bundles: IsolateBundles,
  as?: { uid: number; setpriv: string },
): { command: string; args: string[] } {
  // Node outside /usr (the Node 24 that setup fetches into .tools/) is bound in as one file, so that no
  // host path (the project's checkout) shows through.
  const node = process.execPath.startsWith('/usr/') ? process.execPath : INSIDE.node;
  const nodeOutsideUsr = node === INSIDE.node ? ['--ro-bind', process.execPath, INSIDE.node] : [];
  const drop = as ? dropToUid(as.setpriv, as.uid) : [];
  const args = [
    ...(as
      ? ['--unshare-pid', '--unshare-net', '--unshare-ipc', '--unshare-uts', '--unshare-cgroup-try', ...UID_DROP_CAPS]
      : ['--unshare-all', '--cap-drop', 'ALL']),
    '--die-with-parent',
    '--new-session',
    '--clearenv',
    '--hostname',
    'nimbus-isolate-pool',
    '--proc',
    '/proc',
    '--dev',
    '/dev',
    '--tmpfs',
    '/tmp',
    ...systemDirs(),
    // The directories that hold the pool's files, searchable by the pool's uid (bubblewrap run by root makes them 0700).
    ...[INSIDE.dir, path.dirname(INSIDE.node), path.dirname(INSIDE.ivm)].flatMap((dir) => [
      '--perms',
      '0755',
      '--dir',
      dir,
    ]),
    ...nodeOutsideUsr,
    '--ro-bind',
    isolatedVmDir(),
    INSIDE.ivm,
    '--ro-bind',
    nodeGypBuildDir(),
    INSIDE.gypBuild,
    '--ro-bind',
    bundles.pool,
    INSIDE.pool,
    '--ro-bind',
    bundles.runtime,
    INSIDE.runtime,
    '--remount-ro',
    '/',
    '--chdir',
    '/',
    '--setenv',
    'PATH',
    '/usr/bin:/bin',
    '--setenv',
    'NIMBUS_AGENT_CHANNEL',
    'fd:3',
    '--setenv',
    'NIMBUS_IVM_PATH',
    INSIDE.ivm,
    '--setenv',
    'NIMBUS_ISOLATE_RUNTIME',
    INSIDE.runtime,
    ...seccompArgs(SECCOMP_FD),
    // --expose-gc: the runtime in each isolate takes gc() out of the global scope and runs it before it
    // refuses WebAssembly memory, since collected memories are only given back once found dead.
    '--',
    ...drop,
    node,
    '--no-node-snapshot',
    '--expose-gc',
    INSIDE.pool,
  ];
  return { command: bwrap, args };
}
