// Builds the microVM guest image: vmlinux (Debian's kernel, uncompressed), an
// initramfs (busybox, the CRNG reseed helper, modules, init) and a read-only
// runtime disk (node, its libraries, the agent). The image is named by a hash of every input (kernel
// package version, the bytes of each binary, the init script, the builder's
// version) and cached under <dataDir>/images/<hash>/, and in the machine
// cache (shared-cache.ts) so that other data directories reuse it.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { bundleGuest } from '../../agent-bundle.ts';
import { writeCpio } from './cpio.ts';
import { BUSYBOX, INIT_SCRIPT_PATH, initramfsEntries } from './initramfs.ts';
import {
  downloadKernelPackage,
  extractVmlinux,
  resolveKernelPackage,
  unpackKernelPackage,
  type KernelPackage,
} from './kernel.ts';
import { indexModules, loadOrder } from './modules.ts';
import { buildReseedHelper, RESEED_SOURCE } from './reseed-helper.ts';
import { buildRuntimeDisk, runtimeFiles, type RuntimeFiles } from './rootfs.ts';
import { exists, linkFiles, markUsed, pruneImages, sharedCacheDir } from './shared-cache.ts';

/** Bump when the layout of what is built changes. */
const BUILDER_VERSION = 2;
const BASE_MODULES = ['virtio_mmio', 'virtio_console', 'virtio_blk', 'virtio_balloon', 'crc32c_generic', 'ext4'];
const NET_MODULES = ['virtio_net'];
const IMAGE_FILES = ['vmlinux', 'initrd.cpio', 'runtime.ext4'];
/** Images kept per data directory and in the machine cache (older ones, and their snapshots, are removed). */
const IMAGES_KEPT = 3;
const MANIFEST = 'manifest.json';

export interface MicrovmImage {
  hash: string;
  dir: string;
  vmlinux: string;
  initrd: string;
  runtimeDisk: string;
  kernel: KernelPackage & { release: string };
  modules: { base: string[]; net: string[] };
}

type Manifest = Omit<MicrovmImage, 'dir' | 'vmlinux' | 'initrd' | 'runtimeDisk'> & {
  builtIn: string;
  sizes: Record<string, number>;
};
export type ImageProgress = (message: string) => void;

const fileHashes = new Map<string, { key: string; hash: string }>();

async function fileHash(file: string): Promise<string> {
  const s = await stat(file);
  const key = `${s.ino}:${s.size}:${s.mtimeMs}`;
  const known = fileHashes.get(file);
  if (known?.key === key) return known.hash;
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  const digest = hash.digest('hex');
  fileHashes.set(file, { key, hash: digest });
  return digest;
}

async function inputsHash(kernel: KernelPackage, files: RuntimeFiles, initScript: string): Promise<string> {
  const hash = createHash('sha256');
  hash.update(JSON.stringify({ BUILDER_VERSION, kernel, BASE_MODULES, NET_MODULES, initScript }));
  const named: [string, string][] = [
    ['busybox', BUSYBOX],
    ['reseed-source', RESEED_SOURCE],
    ['node', files.node],
    ['date', files.date],
    ['agent', files.agent],
    ['loader', files.loader],
  ];
  for (const [soname, file] of [...files.libraries].sort()) named.push([soname, file]);
  for (const [name, file] of named) hash.update(`${name}:${await fileHash(file)}\n`);
  return hash.digest('hex').slice(0, 16);
}

function imageAt(dir: string, manifest: Manifest): MicrovmImage {
  const { hash, kernel, modules } = manifest;
  return {
    hash,
    dir,
    kernel,
    modules,
    vmlinux: path.join(dir, 'vmlinux'),
    initrd: path.join(dir, 'initrd.cpio'),
    runtimeDisk: path.join(dir, 'runtime.ext4'),
  };
}

async function readManifest(dir: string): Promise<Manifest | undefined> {
  const text = await readFile(path.join(dir, MANIFEST), 'utf8').catch(() => undefined);
  return text ? (JSON.parse(text) as Manifest) : undefined;
}

async function build(
  out: string,
  hash: string,
  kernel: KernelPackage,
  files: RuntimeFiles,
  initScript: string,
  downloads: string,
  progress: ImageProgress,
): Promise<void> {
  const started = Date.now();
  const work = `${out}.build-${process.pid}`;
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  try {
    progress(`microvm image ${hash}: fetching ${kernel.name} ${kernel.version} with apt`);
    const deb = await downloadKernelPackage(kernel, downloads);
    progress(`microvm image ${hash}: unpacking ${path.basename(deb)}`);
    const unpacked = path.join(work, 'kernel-package');
    const release = await unpackKernelPackage(deb, unpacked);
    progress(`microvm image ${hash}: extracting vmlinux from vmlinuz-${release}`);
    await extractVmlinux(path.join(unpacked, 'boot', `vmlinuz-${release}`), path.join(work, 'vmlinux'));
    const index = await indexModules(path.join(unpacked, 'lib/modules', release));
    const base = await loadOrder(index, BASE_MODULES);
    const net = await loadOrder(index, NET_MODULES, base);
    progress(`microvm image ${hash}: initramfs with busybox and modules ${[...base, ...net].join(', ')}`);
    const reseedHelper = path.join(work, 'nimbus-reseed');
    await buildReseedHelper(reseedHelper);
    await writeCpio(
      path.join(work, 'initrd.cpio'),
      await initramfsEntries({ initScript, modules: index, baseModules: base, netModules: net, reseedHelper }),
    );
    await rm(reseedHelper);
    await rm(unpacked, { recursive: true, force: true });
    progress(`microvm image ${hash}: runtime disk with ${files.node}, ${files.libraries.size} libraries and the agent`);
    const staging = path.join(work, 'runtime-staging');
    await buildRuntimeDisk(files, staging, path.join(work, 'runtime.ext4'));
    await rm(staging, { recursive: true, force: true });
    const sizes: Record<string, number> = {};
    for (const name of IMAGE_FILES) sizes[name] = (await stat(path.join(work, name))).size;
    const manifest: Manifest = {
      hash,
      kernel: { ...kernel, release },
      modules: { base, net },
      builtIn: `${Date.now() - started} ms`,
      sizes,
    };
    await writeFile(path.join(work, MANIFEST), JSON.stringify(manifest, null, 2));
    if (await exists(path.join(out, MANIFEST))) return; // another process finished first
    await rm(out, { recursive: true, force: true });
    await rename(work, out);
    progress(`microvm image ${hash}: built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

const inFlight = new Map<string, Promise<MicrovmImage>>();

/** The guest image for this host's inputs: cached, linked from the machine cache, or built. */
export function ensureMicrovmImage(
  dataDir: string,
  onProgress: ImageProgress = () => {},
  options: { agentPath?: string } = {},
): Promise<MicrovmImage> {
  const key = path.resolve(dataDir);
  let pending = inFlight.get(key);
  if (!pending) {
    pending = ensure(key, onProgress, options).finally(() => inFlight.delete(key));
    inFlight.set(key, pending);
  }
  return pending;
}

async function ensure(
  dataDir: string,
  progress: ImageProgress,
  options: { agentPath?: string },
): Promise<MicrovmImage> {
  const agentPath = options.agentPath ?? (await bundleGuest(path.join(dataDir, 'build')));
  const [kernel, files, initScript] = await Promise.all([
    resolveKernelPackage(),
    runtimeFiles(agentPath),
    readFile(INIT_SCRIPT_PATH, 'utf8'),
  ]);
  const hash = await inputsHash(kernel, files, initScript);
  const dir = path.join(dataDir, 'images', hash);
  const shared = sharedCacheDir();
  const sharedDir = shared ? path.join(shared, 'images', hash) : undefined;
  const local = await readManifest(dir);
  if (local) {
    await markUsed(dir);
    return imageAt(dir, local);
  }
  if (sharedDir && (await readManifest(sharedDir))) {
    progress(`microvm image ${hash}: linking from the machine cache ${sharedDir}`);
    await linkFiles(sharedDir, dir, IMAGE_FILES, MANIFEST);
  } else {
    await mkdir(path.dirname(dir), { recursive: true });
    await build(
      dir,
      hash,
      kernel,
      files,
      initScript,
      shared ? path.join(shared, 'downloads') : path.join(dataDir, 'images', 'downloads'),
      progress,
    );
    if (sharedDir)
      await linkFiles(dir, sharedDir, IMAGE_FILES, MANIFEST).catch((e: unknown) =>
        progress(`microvm image ${hash}: not shared (${String(e)})`),
      );
  }
  const manifest = await readManifest(dir);
  if (!manifest) throw new Error(`microvm image ${hash} has no manifest after building`);
  await forgetOldImages(dataDir, dir, sharedDir, progress);
  return imageAt(dir, manifest);
}

async function forgetOldImages(
  dataDir: string,
  dir: string,
  sharedDir: string | undefined,
  progress: ImageProgress,
): Promise<void> {
  await markUsed(dir);
  const removed = await pruneImages(path.join(dataDir, 'images'), IMAGES_KEPT);
  if (sharedDir) {
    await markUsed(sharedDir);
    const root = path.dirname(path.dirname(sharedDir));
    removed.push(
      ...(await pruneImages(path.dirname(sharedDir), IMAGES_KEPT, (old) => [path.join(root, 'snapshots', old)])),
    );
  }
  if (removed.length)
    progress(`microvm images removed (older than the ${IMAGES_KEPT} last used): ${removed.join(', ')}`);
}
