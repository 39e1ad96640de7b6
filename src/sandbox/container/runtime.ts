// What the driver prepares once (image, config template, agent copy, runc) and
// what it writes per sandbox (the bundle directory: config.json and the
// function's artifact, hard-linked so that placing it costs no copy).
import { chmod, copyFile, link, mkdir, realpath, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createHash } from 'node:crypto';
import type { SandboxSpec } from '../driver.ts';
import { NimbusError } from '../../shared/errors.ts';
import { configTemplate, MIN_CPUS, MIN_MEMORY_MB, TASK_DIR } from './container-config.ts';
import { prepareImage, type ContainerImage } from './image.ts';
import type { OciConfig } from './oci-spec.ts';
import { findBinary, Runc } from './runc.ts';

export interface PreparedRuntime {
  image: ContainerImage;
  template: OciConfig;
  /** The guest agent, copied into the image directory (world-readable). */
  agentPath: string;
  /** Node's binary, reachable inside the container at the same path. */
  nodePath: string;
  runc: Runc | undefined;
}

export async function prepareRuntime(o: {
  dataDir: string;
  containersDir: string;
  agentPath: string;
  userNamespace: boolean;
}): Promise<PreparedRuntime> {
  const image = await prepareImage(o.containersDir, o.userNamespace);
  const nodePath = await realpath(process.execPath);
  if (!image.systemMounts.some((dir) => nodePath.startsWith(`${dir}/`))) {
    // Node lives outside /usr (nvm, /opt): mount its installation too.
    const prefix = path.dirname(path.dirname(nodePath));
    await mkdir(path.join(image.rootfs, prefix), { recursive: true, mode: 0o755 });
    image.systemMounts.push(prefix);
  }
  const agentPath = path.join(path.dirname(image.rootfs), 'agent.cjs');
  const tmp = `${agentPath}.${process.pid}.tmp`;
  await copyFile(o.agentPath, tmp);
  await chmod(tmp, 0o444);
  await rename(tmp, agentPath);
  const runcBinary = await findBinary('runc');
  return {
    image,
    template: configTemplate(image),
    agentPath,
    nodePath,
    runc: runcBinary ? new Runc(runcBinary, path.join(o.dataDir, 'runc')) : undefined,
  };
}

export function validateSpec(spec: SandboxSpec): void {
  if (!Number.isInteger(spec.memoryMb) || spec.memoryMb < MIN_MEMORY_MB)
    throw new NimbusError('bad_request', `memoryMb must be a whole number, at least ${MIN_MEMORY_MB}`);
  if (!(spec.cpus >= MIN_CPUS)) throw new NimbusError('bad_request', `cpus must be at least ${MIN_CPUS}`);
  for (const [key, value] of Object.entries(spec.env)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key))
      throw new NimbusError('bad_request', `environment variable name "${key}" is not valid`);
    if (value.includes('\0')) throw new NimbusError('bad_request', `environment variable ${key} contains a NUL byte`);
  }
}

/** A name for the sandbox's bundle directory and container id: its id where that is safe. */
export function bundleName(sandboxId: string): string {
  if (/^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/.test(sandboxId)) return sandboxId;
  const hash = createHash('sha256').update(sandboxId).digest('hex').slice(0, 12);
  return `${sandboxId
    .replace(/[^A-Za-z0-9_.-]/g, '_')
    .replace(/^[._-]+/, '')
    .slice(0, 80)}-${hash}`;
}

/** Creates an empty bundle directory, refusing one that exists (a sandbox id in use). */
export async function makeBundleDir(containersDir: string, name: string): Promise<string> {
  const bundleDir = path.join(containersDir, name);
  try {
    await mkdir(bundleDir, { mode: 0o711 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST')
      throw new NimbusError('conflict', `a container bundle named ${name} already exists`);
    throw e;
  }
  return bundleDir;
}

/** How the function's code reaches /var/task: a directory is mounted as is, a file is placed in the bundle. */
export async function artifactKind(artifactPath: string): Promise<'file' | 'directory'> {
  const artifact = await stat(artifactPath).catch(() => {
    throw new NimbusError('not_found', `artifact ${artifactPath} does not exist`);
  });
  return artifact.isDirectory() ? 'directory' : 'file';
}

/**
 * Puts a file artifact into a bundle's task directory (mounted at /var/task,
 * also in a running container): a hard link, or a read-only copy where a link
 * cannot be made or the file is not readable by all. Returns its path inside.
 */
export async function placeArtifact(taskDir: string, artifactPath: string): Promise<string> {
  const inBundle = path.join(taskDir, path.basename(artifactPath));
  const readable = ((await stat(artifactPath)).mode & 0o004) !== 0;
  if (
    !readable ||
    !(await link(artifactPath, inBundle).then(
      () => true,
      () => false,
    ))
  ) {
    await copyFile(artifactPath, inBundle);
    await chmod(inBundle, 0o444);
  }
  return `${TASK_DIR}/${path.basename(artifactPath)}`;
}

export async function writeBundleConfig(bundleDir: string, config: OciConfig): Promise<void> {
  await writeFile(path.join(bundleDir, 'config.json'), JSON.stringify(config), { mode: 0o600 });
}

export function removeBundle(bundleDir: string): Promise<void> {
  return rm(bundleDir, { recursive: true, force: true });
}
