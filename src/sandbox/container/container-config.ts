// Builds a container's config.json. The parts every container shares (root
// skeleton, system mounts, seccomp, capabilities, masked paths) form a template
// built once per driver; a sandbox only adds its own: function mount, limits,
// environment, network choice and cgroup path.
import type { ContainerImage } from './image.ts';
import { AGENT_IN_CONTAINER } from './image.ts';
import { CONTAINER_UID } from './identity.ts';
import type { OciConfig, OciMount, OciNamespaceType } from './oci-spec.ts';
import { seccompProfile } from './seccomp-profile.ts';

export const MB = 1024 * 1024;
export const CPU_PERIOD_US = 100_000;
/** Where the function's artifact appears inside the container. */
export const TASK_DIR = '/var/task';
export const MIN_MEMORY_MB = 16;
export const MIN_CPUS = 0.01;

export interface SandboxContainerPlan {
  cgroupsPath: string;
  /** Host directory holding the function, mounted read-only at /var/task. */
  taskDir: string;
  /** Host path of the bundled guest agent, mounted read-only. */
  agentPath: string;
  args: string[];
  env: Record<string, string>;
  network: boolean;
  /** With network: the sandbox's own filtered namespace (src/sandbox/network) and the resolv.conf that points at its DNS forwarder. */
  sandboxNetwork?: { netnsPath: string; resolvConf: string };
  memoryMb: number;
  cpus: number;
  pidsLimit: number;
  tmpfsMb: number;
}

export function cpuQuotaUs(cpus: number): number {
  return Math.max(1000, Math.round(cpus * CPU_PERIOD_US));
}

const READ_ONLY_BIND = ['rbind', 'ro', 'nosuid', 'nodev'];
const NO_CAPABILITIES = { bounding: [], effective: [], permitted: [], inheritable: [], ambient: [] };
const ISOLATED_NAMESPACES: OciNamespaceType[] = ['pid', 'mount', 'ipc', 'uts', 'cgroup'];

export function configTemplate(image: ContainerImage): OciConfig {
  const mounts: OciMount[] = [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=1m'] },
    ...image.systemMounts.map((dir): OciMount => ({
      destination: dir,
      type: 'bind',
      source: dir,
      options: READ_ONLY_BIND,
    })),
    { destination: '/etc', type: 'bind', source: image.etcDir, options: READ_ONLY_BIND },
  ];
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: false,
      user: { uid: CONTAINER_UID, gid: CONTAINER_UID },
      args: [],
      env: [],
      cwd: TASK_DIR,
      noNewPrivileges: true,
      capabilities: NO_CAPABILITIES,
      rlimits: [
        { type: 'RLIMIT_NOFILE', soft: 4096, hard: 4096 },
        { type: 'RLIMIT_CORE', soft: 0, hard: 0 },
      ],
    },
    root: { path: image.rootfs, readonly: true },
    hostname: 'nimbus',
    mounts,
    linux: {
      namespaces: [...ISOLATED_NAMESPACES, ...(image.identity.userNamespace ? (['user'] as const) : [])].map(
        (type) => ({ type }),
      ),
      ...(image.identity.uidMappings
        ? { uidMappings: image.identity.uidMappings, gidMappings: image.identity.gidMappings }
        : {}),
      cgroupsPath: '',
      resources: { devices: [{ allow: false, access: 'rwm' }] },
      seccomp: seccompProfile(),
      maskedPaths: [
        '/proc/acpi',
        '/proc/asound',
        '/proc/kcore',
        '/proc/keys',
        '/proc/latency_stats',
        '/proc/timer_list',
        '/proc/timer_stats',
        '/proc/sched_debug',
        '/proc/scsi',
      ],
      readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
      rootfsPropagation: 'rprivate',
    },
  };
}

export function sandboxConfig(template: OciConfig, plan: SandboxContainerPlan): OciConfig {
  // The host's network namespace is never shared: with network, the container joins its own filtered one.
  if (plan.network && !plan.sandboxNetwork)
    throw new Error('a container with network needs its own network namespace (sandboxNetwork)');
  const net = plan.network ? plan.sandboxNetwork : undefined;
  const env = { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: '/tmp', ...plan.env, NIMBUS_AGENT_CHANNEL: 'fd:3' };
  const memoryBytes = plan.memoryMb * MB;
  return {
    ...template,
    process: { ...template.process, args: plan.args, env: Object.entries(env).map(([k, v]) => `${k}=${v}`) },
    mounts: [
      ...template.mounts,
      {
        destination: '/tmp',
        type: 'tmpfs',
        source: 'tmpfs',
        options: ['nosuid', 'nodev', 'mode=1777', `size=${plan.tmpfsMb}m`],
      },
      { destination: TASK_DIR, type: 'bind', source: plan.taskDir, options: READ_ONLY_BIND },
      { destination: AGENT_IN_CONTAINER, type: 'bind', source: plan.agentPath, options: READ_ONLY_BIND },
      ...(net
        ? [
            {
              destination: '/etc/resolv.conf',
              type: 'bind',
              source: net.resolvConf,
              options: READ_ONLY_BIND,
            } satisfies OciMount,
          ]
        : []),
    ],
    linux: {
      ...template.linux,
      // A new empty namespace (loopback only) without network; the sandbox's filtered one with it.
      namespaces: [...template.linux.namespaces, net ? { type: 'network', path: net.netnsPath } : { type: 'network' }],
      cgroupsPath: plan.cgroupsPath,
      resources: {
        ...template.linux.resources,
        // swap is memory+swap in cgroup v1: equal to the limit means no swap.
        memory: { limit: memoryBytes, swap: memoryBytes },
        cpu: { quota: cpuQuotaUs(plan.cpus), period: CPU_PERIOD_US },
        pids: { limit: plan.pidsLimit },
      },
    },
  };
}
