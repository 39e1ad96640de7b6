// Starts containers for the driver: a bundle directory, its config.json (the
// shared template plus this container's limits, env, network and task mount),
// then `runc run --detach`. A launched container runs the agent, which waits
// for its init message; the function's file may be placed in /var/task later.
import path from 'node:path';
import { mkdir, writeFile } from 'node:fs/promises';
import type { DriverContext } from '../driver.ts';
import { heapLimitMb } from '../process/driver.ts';
import { sandboxConfig } from './container-config.ts';
import { ContainerProcess } from './container-process.ts';
import { AGENT_IN_CONTAINER } from './image.ts';
import { CONTAINER_PREFIX } from './leftovers.ts';
import type { OciConfig } from './oci-spec.ts';
import type { Runc } from './runc.ts';
import { NimbusError } from '../../shared/errors.ts';
import { openSandboxNetwork, type SandboxNetwork } from '../network/namespace.ts';
import type { EgressRules } from '../network/policy.ts';
import { makeBundleDir, removeBundle, writeBundleConfig, type PreparedRuntime } from './runtime.ts';

export interface ContainerProfile {
  memoryMb: number;
  cpus: number;
  network: boolean;
}

export interface LaunchRequest extends ContainerProfile {
  /** Bundle directory name; the container id is nimbus-<name>. */
  name: string;
  env: Record<string, string>;
  /** A directory artifact, mounted as /var/task itself; otherwise /var/task is the bundle's task/ directory. */
  artifactDir?: string;
}

export interface Launched {
  proc: ContainerProcess;
  containerId: string;
  cgroupsPath: string;
  /** Host directory seen as /var/task. */
  taskDir: string;
  profile: ContainerProfile;
}

export interface LauncherOptions {
  containersDir: string;
  cgroupParent: string;
  pidsLimit: number;
  tmpfsMb: number;
  /** Where containers with network may connect (each gets its own filtered namespace). */
  egress: EgressRules;
  log: DriverContext['log'];
}

export class ContainerLauncher {
  constructor(
    readonly rt: PreparedRuntime,
    private readonly o: LauncherOptions,
  ) {}

  get runc(): Runc {
    if (!this.rt.runc)
      throw new NimbusError(
        'unavailable',
        'the container engine needs runc, which is not installed (apt-get install runc; scripts/setup.sh does it)',
      );
    return this.rt.runc;
  }

  config(
    containerId: string,
    taskDir: string,
    args: string[],
    req: ContainerProfile & { env: Record<string, string>; sandboxNetwork?: { netnsPath: string; resolvConf: string } },
  ): OciConfig {
    return sandboxConfig(this.rt.template, {
      cgroupsPath: `${this.o.cgroupParent}/${containerId}`,
      taskDir,
      agentPath: this.rt.agentPath,
      args,
      env: req.env,
      network: req.network,
      sandboxNetwork: req.sandboxNetwork,
      memoryMb: req.memoryMb,
      cpus: req.cpus,
      pidsLimit: this.o.pidsLimit,
      tmpfsMb: this.o.tmpfsMb,
    });
  }

  async launch(req: LaunchRequest): Promise<Launched> {
    const runc = this.runc;
    const bundleDir = await makeBundleDir(this.o.containersDir, req.name);
    let sandboxNet: SandboxNetwork | undefined;
    try {
      const taskDir = req.artifactDir ?? path.join(bundleDir, 'task');
      if (!req.artifactDir) await mkdir(taskDir, { mode: 0o755 });
      const containerId = CONTAINER_PREFIX + req.name;
      const args = [this.rt.nodePath, `--max-old-space-size=${heapLimitMb(req.memoryMb)}`, AGENT_IN_CONTAINER];
      let sandboxNetwork: { netnsPath: string; resolvConf: string } | undefined;
      if (req.network) {
        const opened = await openSandboxNetwork(this.o.egress);
        sandboxNet = opened;
        const resolvConf = path.join(bundleDir, 'resolv.conf');
        await writeFile(resolvConf, `nameserver ${opened.dns}\n`, { mode: 0o644 });
        sandboxNetwork = { netnsPath: opened.netnsPath, resolvConf };
      }
      const config = this.config(containerId, taskDir, args, { ...req, sandboxNetwork });
      await writeBundleConfig(bundleDir, config);
      const proc = await ContainerProcess.start({
        runc,
        containerId,
        bundleDir,
        cgroupsPath: config.linux.cgroupsPath,
        details: {
          runtime: 'runc',
          identity: this.rt.image.identity.reason,
          network: sandboxNet ? sandboxNet.details : 'none (loopback only)',
        },
        log: this.o.log,
      });
      // The namespace's helpers go with the container, whichever way it ends.
      const opened = sandboxNet;
      if (opened) void proc.exited.then(() => opened.close());
      const { memoryMb, cpus, network } = req;
      return {
        proc,
        containerId,
        cgroupsPath: config.linux.cgroupsPath,
        taskDir,
        profile: { memoryMb, cpus, network },
      };
    } catch (e) {
      await sandboxNet?.close();
      await removeBundle(bundleDir);
      throw e;
    }
  }
}
