// The wall around a process sandbox: the command line that starts the guest
// agent under bubblewrap as the sandbox's own unprivileged uid. Every
// namespace is its own (user, pid, mount, ipc, uts, and network unless the
// sandbox joins its egress namespace), no capabilities, no nested user
// namespaces, a cleared environment, a new session, death with the platform;
// the filesystem is a read-only view of the system (/usr and its links, only
// the /etc files Node needs), Node's install directory, the agent, the
// sandbox's own directory (its function, passwd, group), a fresh /proc, a
// read-only /dev, and a private, size-capped /tmp and /dev/shm. A per-uid
// RLIMIT_NPROC (prlimit) bounds its processes and threads, a memory cgroup
// everything it holds, a CPU cgroup the cores it takes, and a system-call
// filter (src/sandbox/seccomp/) the kernel calls no function needs.
import { existsSync, lstatSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { AGENT_INSIDE, FUNCTION_INSIDE, SECCOMP_FILE } from './run-dir.ts';

/** Processes and threads one sandbox may have, bubblewrap and Node's own included (as the container engine's pids limit). */
export const SANDBOX_TASKS = 128;
/** Size of a sandbox's private /tmp (tmpfs). */
export const SANDBOX_TMP_BYTES = 64 * 1024 * 1024;
/** Size of its /dev/shm; the rest of /dev is read-only (bubblewrap's /dev is an unbounded tmpfs otherwise). */
export const SANDBOX_SHM_BYTES = 16 * 1024 * 1024;

/** Host /etc files Node may read (libraries, time zone, name resolution, TLS roots); never shadow, never the rest. */
const ETC_FILES = [
  '/etc/ld.so.cache',
  '/etc/localtime',
  '/etc/hosts',
  '/etc/host.conf',
  '/etc/nsswitch.conf',
  '/etc/gai.conf',
  '/etc/ssl/certs',
  '/etc/ssl/openssl.cnf',
];

export interface JailSpec {
  bwrap: string;
  prlimit: string;
  setpriv: string;
  bash: string;
  /** The cgroup.procs file of the sandbox's memory cgroup, when it has one. */
  cgroupProcs?: string;
  /** The cgroup.procs file of its CPU cgroup, when it has one. */
  cpuCgroupProcs?: string;
  /** The sandbox's uid and gid (the same number). */
  id: number;
  /** Its directory on the host (RunDir.openSlot). */
  slotDir: string;
  /** The agent's copy on the host (RunDir.agent). */
  agent: string;
  heapMb: number;
  /** A network namespace to join (egress): entered with nsenter as root, before the uid changes. */
  netns?: { nsenter: string; path: string };
  /** What to run instead of the agent (the driver's probe). */
  command?: string[];
}

/** /bin, /lib, /lib64, /sbin: the same symlink where the host has merged /usr, else a read-only bind. */
function systemDirs(): string[] {
  const args = ['--ro-bind', '/usr', '/usr'];
  for (const dir of ['/bin', '/sbin', '/lib', '/lib64', '/lib32']) {
    if (!existsSync(dir)) continue;
    if (lstatSync(dir).isSymbolicLink()) args.push('--symlink', readlinkSync(dir), dir);
    else args.push('--ro-bind', dir, dir);
  }
  return args;
}

function etcFiles(slotDir: string, network: boolean): string[] {
  const args: string[] = [];
  for (const file of ETC_FILES) if (existsSync(file)) args.push('--ro-bind', file, file);
  args.push(
    '--ro-bind',
    path.join(slotDir, 'passwd'),
    '/etc/passwd',
    '--ro-bind',
    path.join(slotDir, 'group'),
    '/etc/group',
  );
  if (network) args.push('--ro-bind', path.join(slotDir, 'resolv.conf'), '/etc/resolv.conf');
  return args;
}

/** Node's install directory, when it is not under /usr (a Node from .tools/, nvm, ...). */
function nodeDir(): string[] {
  const dir = path.dirname(path.dirname(process.execPath));
  return dir === '/usr' || dir.startsWith('/usr/') ? [] : ['--ro-bind', dir, dir];
}

export function bwrapArgs(spec: JailSpec): string[] {
  return [
    '--unshare-all',
    '--unshare-user',
    ...(spec.netns ? ['--share-net'] : []),
    '--disable-userns',
    '--die-with-parent',
    '--new-session',
    '--cap-drop',
    'ALL',
    '--clearenv',
    '--hostname',
    'nimbus-sandbox',
    '--proc',
    '/proc',
    '--dev',
    '/dev',
    '--remount-ro',
    '/dev',
    '--size',
    String(SANDBOX_SHM_BYTES),
    '--tmpfs',
    '/dev/shm',
    '--size',
    String(SANDBOX_TMP_BYTES),
    '--tmpfs',
    '/tmp',
    ...systemDirs(),
    ...nodeDir(),
    ...etcFiles(spec.slotDir, spec.netns !== undefined),
    '--ro-bind',
    spec.agent,
    AGENT_INSIDE,
    '--ro-bind',
    path.join(spec.slotDir, 'fn'),
    FUNCTION_INSIDE,
    '--remount-ro',
    '/',
    '--chdir',
    '/tmp',
    '--setenv',
    'PATH',
    '/usr/bin:/bin',
    '--setenv',
    'HOME',
    '/tmp',
    '--setenv',
    'NIMBUS_AGENT_CHANNEL',
    'fd:3',
    ...(seccompPath(spec) ? ['--seccomp', String(SECCOMP_FD)] : []),
    '--',
    ...(spec.command ?? [process.execPath, `--max-old-space-size=${spec.heapMb}`, AGENT_INSIDE]),
  ];
}

/** The descriptor the first step opens the filter on, for bubblewrap to read. */
const SECCOMP_FD = 4;

/** The run directory's filter beside the agent, when this host has one. */
function seccompPath(spec: JailSpec): string | undefined {
  const file = path.join(path.dirname(spec.agent), SECCOMP_FILE);
  return existsSync(file) ? file : undefined;
}

/**
 * The first step, in bash (dash cannot name a descriptor above 9): close
 * every descriptor above 3 that the platform itself inherited without
 * close-on-exec (Node's spawn passes them on; a supervisor's pipe or log must
 * not reach a function), write its own pid into the memory and CPU cgroups
 * when there are (every later process is then inside), open the system-call filter
 * on descriptor 4 when there is one (root opens it; bubblewrap reads it as the
 * sandbox's uid), and exec the rest.
 */
const ENTER =
  'for f in /proc/$$/fd/*; do n=${f##*/}; [ "$n" -gt 3 ] && exec {n}>&-; done; ' +
  'for c in "$0" "$1"; do [ -z "$c" ] || echo $$ > "$c" || exit 1; done; { [ -z "$2" ] || exec 4<"$2"; } && shift 2 && exec "$@"';

/**
 * The whole command, started as root: the first step above, the egress
 * network namespace if it has one (only root may enter it), then the
 * sandbox's uid, gid and no supplementary groups (setpriv), its process limit
 * (prlimit), and bubblewrap. Each step execs the next: bubblewrap keeps the
 * pid the platform spawned, so it dies with the platform.
 */
export function jailCommand(spec: JailSpec): { command: string; args: string[] } {
  const id = String(spec.id);
  const steps = [
    spec.bash,
    '-c',
    ENTER,
    spec.cgroupProcs ?? '',
    spec.cpuCgroupProcs ?? '',
    seccompPath(spec) ?? '',
    ...(spec.netns ? [spec.netns.nsenter, `--net=${spec.netns.path}`, '--'] : []),
    spec.setpriv,
    `--reuid=${id}`,
    `--regid=${id}`,
    '--clear-groups',
    '--',
    spec.prlimit,
    `--nproc=${SANDBOX_TASKS}:${SANDBOX_TASKS}`,
    '--',
    spec.bwrap,
    ...bwrapArgs(spec),
  ];
  return { command: steps[0] as string, args: steps.slice(1) };
}
