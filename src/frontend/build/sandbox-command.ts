// The command line of one build sandbox: bubblewrap, started by root so that it
// can bind what the build needs wherever the project lives, then setpriv drops
// to the build's own unprivileged uid (no capabilities, no new privileges)
// before Node starts. The sandbox has its own pid, network (loopback only),
// ipc and uts namespaces and sees only the system libraries, Node, esbuild,
// the worker's scripts (all read-only), its workspace (read-only: the upload)
// and a small private /tmp. Host files such as /etc and the data dir are not
// there, so even a bundler bug cannot read them, and the sandboxes'
// system-call filter (src/sandbox/seccomp/) refuses the kernel calls no build
// needs.
import { existsSync, lstatSync, readlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { seccompArgs } from '../../sandbox/seccomp/filter.ts';
import { dropToUid, UID_DROP_CAPS } from '../../sandbox/uid-drop.ts';

/** Where things are inside the sandbox. */
export const INSIDE = {
  workspace: '/workspace',
  upload: '/workspace/upload',
  worker: '/build/worker/main.ts',
  modules: '/build/node_modules',
};

/** The descriptor bubblewrap reads the system-call filter from (a pipe; build-worker.ts writes it). */
export const SECCOMP_FD = 4;

/** Most processes and threads of a build's uid. */
export const BUILD_PROCESSES = 256;

const WORKER_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'worker');

export interface SandboxLimits {
  memoryMb: number;
  /** The host uid (and gid) the build runs as; undefined when the platform is not root (bubblewrap's user namespace then keeps the caller's uid). */
  uid?: number;
}

export interface BuildTools {
  bwrap: string;
  setpriv?: string;
  /** util-linux prlimit: caps the build uid's processes (a fork bomb in esbuild's place). */
  prlimit?: string;
  node: string;
  esbuildDir: string;
  /** esbuild's platform package (its Go binary), e.g. node_modules/@esbuild/linux-x64. */
  esbuildBinaryDir: string;
}

function findOnPath(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/bin', '/usr/sbin', '/usr/local/bin', '/bin'];
  return dirs
    .filter(Boolean)
    .map((d) => path.join(d, name))
    .find((p) => existsSync(p));
}

/** What a build needs from the host, or a reason it cannot be built in a sandbox here. */
export function findBuildTools(asRoot: boolean): BuildTools | string {
  const bwrap = findOnPath('bwrap');
  if (!bwrap)
    return 'bubblewrap (bwrap) is not installed; install it with "apt-get install bubblewrap" (npm start does)';
  const setpriv = asRoot ? findOnPath('setpriv') : undefined;
  if (asRoot && !setpriv) return 'setpriv is not installed; install util-linux (npm start does)';
  const require = createRequire(import.meta.url);
  const esbuildDir = path.dirname(require.resolve('esbuild/package.json'));
  const binaryPackage = `@esbuild/${process.platform}-${process.arch}/package.json`;
  const esbuildBinaryDir = path.dirname(createRequire(path.join(esbuildDir, 'package.json')).resolve(binaryPackage));
  const prlimit = asRoot ? findOnPath('prlimit') : undefined;
  return {
    bwrap,
    ...(setpriv ? { setpriv } : {}),
    ...(prlimit ? { prlimit } : {}),
    node: process.execPath,
    esbuildDir,
    esbuildBinaryDir,
  };
}

/** A read-only bind, skipped when the source does not exist. */
type Bind = [source: string, dest: string];

/** /usr/lib and its kin, Node's install prefix (bound at the same path, so that it finds itself), setpriv. */
function systemBinds(tools: BuildTools): { binds: Bind[]; links: string[] } {
  const binds: Bind[] = [];
  const links: string[] = [];
  if (tools.node.startsWith('/usr/')) binds.push(['/usr', '/usr']);
  else
    binds.push(
      ['/usr/lib', '/usr/lib'],
      ['/usr/lib64', '/usr/lib64'],
      [path.dirname(path.dirname(tools.node)), path.dirname(path.dirname(tools.node))],
    );
  for (const dir of ['/lib', '/lib64', '/lib32']) {
    if (!existsSync(dir)) continue;
    if (lstatSync(dir).isSymbolicLink()) links.push('--symlink', readlinkSync(dir), dir);
    else binds.push([dir, dir]);
  }
  if (tools.setpriv && !tools.node.startsWith('/usr/')) binds.push([tools.setpriv, tools.setpriv]);
  return { binds, links };
}

/**
 * Bind arguments, each destination's parents made first as 0755: bubblewrap
 * run by root makes them 0700, which the build's uid could not pass through.
 */
function bindArgs(binds: Bind[]): string[] {
  const parents = new Set<string>();
  for (const [, dest] of binds) for (let d = path.dirname(dest); d !== '/'; d = path.dirname(d)) parents.add(d);
  const dirs = [...parents].filter((d) => !binds.some(([, dest]) => dest === d || d.startsWith(`${dest}/`)));
  dirs.sort((a, b) => a.split('/').length - b.split('/').length);
  return [
    ...dirs.flatMap((d) => ['--perms', '0755', '--dir', d]),
    ...binds.filter(([source]) => existsSync(source)).flatMap(([source, dest]) => ['--ro-bind', source, dest]),
  ];
}

export function sandboxCommand(
  tools: BuildTools,
  workspace: string,
  limits: SandboxLimits,
): { command: string; args: string[] } {
  const heapMb = Math.max(64, Math.floor(limits.memoryMb / 4));
  const goMemLimitMb = Math.max(64, Math.floor(limits.memoryMb * 0.75));
  const drop = tools.setpriv && limits.uid !== undefined ? dropToUid(tools.setpriv, limits.uid) : [];
  const system = systemBinds(tools);
  const args = [
    '--unshare-pid',
    '--unshare-net',
    '--unshare-ipc',
    '--unshare-uts',
    '--unshare-cgroup-try',
    ...(drop.length ? UID_DROP_CAPS : ['--unshare-user']),
    '--die-with-parent',
    '--new-session',
    '--clearenv',
    '--hostname',
    'nimbus-build',
    '--proc',
    '/proc',
    '--dev',
    '/dev',
    '--size',
    String(16 * 1024 * 1024),
    '--tmpfs',
    '/tmp',
    ...bindArgs([
      ...system.binds,
      [WORKER_DIR, path.dirname(INSIDE.worker)],
      [tools.esbuildDir, `${INSIDE.modules}/esbuild`],
      [tools.esbuildBinaryDir, `${INSIDE.modules}/@esbuild/${path.basename(tools.esbuildBinaryDir)}`],
      [workspace, INSIDE.workspace],
    ]),
    ...system.links,
    '--remount-ro',
    '/',
    '--chdir',
    INSIDE.workspace,
    '--setenv',
    'GOMEMLIMIT',
    `${goMemLimitMb}MiB`,
    ...seccompArgs(SECCOMP_FD),
    '--',
    ...drop,
    tools.node,
    `--max-old-space-size=${heapMb}`,
    '--disable-warning=ExperimentalWarning',
    INSIDE.worker,
    INSIDE.upload,
  ];
  // RLIMIT_NPROC counts the build uid's processes and threads (a waiting
  // worker has 11); root, which runs bubblewrap, is exempt, the build is not.
  if (tools.prlimit && drop.length)
    return { command: tools.prlimit, args: [`--nproc=${BUILD_PROCESSES}`, '--', tools.bwrap, ...args] };
  return { command: tools.bwrap, args };
}
