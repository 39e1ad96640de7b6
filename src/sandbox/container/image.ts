// The container "image": what every container of one driver shares, prepared
// once so that creating a sandbox only writes its own parts. A root skeleton of
// empty mount points (read-only in every container), a generated /etc (passwd,
// group, hosts, resolv.conf: the host's /etc, with /etc/shadow, is never
// mounted), the host directories node needs, and the user-namespace decision.
import { chmod, copyFile, lstat, mkdir, readFile, readlink, rename, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { identityFor, type ContainerIdentity } from './identity.ts';

/** Host directories that hold node and the libraries it links: bind-mounted read-only, or recreated as symlinks. */
const HOST_SYSTEM_DIRS = ['/usr', '/lib', '/lib64', '/bin'];
/** Mount points inside the read-only root. */
const SKELETON_DIRS = ['proc', 'dev', 'etc', 'tmp', 'var/task', 'opt/nimbus'];
export const AGENT_IN_CONTAINER = '/opt/nimbus/agent.cjs';

export interface ContainerImage {
  rootfs: string;
  etcDir: string;
  /** Host directories to bind-mount read-only at the same path. */
  systemMounts: string[];
  identity: ContainerIdentity;
}

export async function prepareImage(containersDir: string, allowUserNamespace = true): Promise<ContainerImage> {
  const imageDir = path.join(containersDir, '.image');
  const rootfs = path.join(imageDir, 'rootfs');
  const etcDir = path.join(imageDir, 'etc');
  // Containers' host uids must be able to pass through to the root (o+x); the
  // bundle names stay unlistable (0711).
  for (const [dir, mode] of [
    [containersDir, 0o711],
    [imageDir, 0o711],
    [rootfs, 0o755],
    [etcDir, 0o755],
  ] as const) {
    await mkdir(dir, { recursive: true });
    await chmod(dir, mode);
  }
  for (const dir of SKELETON_DIRS) await mkdir(path.join(rootfs, dir), { recursive: true, mode: 0o755 });
  // runc gives a tmpfs the mode of the directory it covers: /tmp must be 1777.
  await chmod(path.join(rootfs, 'tmp'), 0o1777);
  await writeFile(path.join(rootfs, AGENT_IN_CONTAINER), '', { mode: 0o444, flag: 'a' });
  const systemMounts: string[] = [];
  for (const dir of HOST_SYSTEM_DIRS) {
    const info = await lstat(dir).catch(() => undefined);
    const inRoot = path.join(rootfs, dir);
    if (info?.isSymbolicLink()) await ensureSymlink(await readlink(dir), inRoot);
    else if (info?.isDirectory()) {
      await mkdir(inRoot, { recursive: true, mode: 0o755 });
      systemMounts.push(dir);
    }
  }
  await writeEtc(etcDir);
  return { rootfs, etcDir, systemMounts, identity: await identityFor(rootfs, allowUserNamespace) };
}

async function ensureSymlink(target: string, at: string): Promise<void> {
  if ((await readlink(at).catch(() => undefined)) === target) return;
  const tmp = `${at}.${process.pid}.tmp`;
  await symlink(target, tmp);
  await rename(tmp, at);
}

/** A minimal /etc: enough for node, getaddrinfo and the dynamic linker; nothing secret. */
async function writeEtc(etcDir: string): Promise<void> {
  const files: Record<string, string> = {
    passwd: 'root:x:0:0:root:/root:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/tmp:/usr/sbin/nologin\n',
    group: 'root:x:0:\nnogroup:x:65534:\n',
    hosts: '127.0.0.1\tlocalhost nimbus\n::1\tlocalhost ip6-localhost ip6-loopback\n',
    'nsswitch.conf': 'passwd: files\ngroup: files\nhosts: files dns\n',
    'resolv.conf': await readFile('/etc/resolv.conf', 'utf8').catch(() => ''),
  };
  for (const [name, content] of Object.entries(files)) await writeAtomically(path.join(etcDir, name), content);
  // The linker's cache only lists library paths; it spares node a directory search.
  if (await stat('/etc/ld.so.cache').catch(() => undefined)) {
    const tmp = path.join(etcDir, `ld.so.cache.${process.pid}.tmp`);
    await copyFile('/etc/ld.so.cache', tmp);
    await chmod(tmp, 0o644);
    await rename(tmp, path.join(etcDir, 'ld.so.cache'));
  }
}

/** Replaces a file by rename, so running containers never see it half written. */
async function writeAtomically(file: string, content: string): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, content, { mode: 0o644 });
  await rename(tmp, file);
}
