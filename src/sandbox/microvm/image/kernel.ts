// The guest kernel: Debian's linux-image-amd64 names a versioned package,
// which is downloaded with apt (the only network this platform assumes),
// unpacked with dpkg, and turned into an uncompressed vmlinux (the ELF that
// QEMU boots through its PVH entry, skipping in-guest decompression).
import { execFile, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { once } from 'node:events';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const XZ_MAGIC = Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]);
const ELF_MAGIC = Buffer.from([0x7f, 0x45, 0x4c, 0x46]);

export interface KernelPackage {
  name: string;
  version: string;
}

/** The versioned kernel package that linux-image-amd64 depends on, from apt's local lists. */
export async function resolveKernelPackage(): Promise<KernelPackage> {
  const { stdout: depends } = await run('apt-cache', ['depends', 'linux-image-amd64']);
  const name = /Depends:\s*(linux-image-[\w.+-]+)/.exec(depends)?.[1];
  if (!name) throw new Error('apt-cache depends linux-image-amd64 names no linux-image package (run apt-get update)');
  const { stdout: show } = await run('apt-cache', ['show', '--no-all-versions', name]);
  const version = /^Version:\s*(\S+)/m.exec(show)?.[1];
  if (!version) throw new Error(`apt-cache show ${name} gives no version`);
  return { name, version };
}

/** Path of the package's .deb in `downloadDir`, fetched with apt-get download if missing. */
export async function downloadKernelPackage(pkg: KernelPackage, downloadDir: string): Promise<string> {
  const file = path.join(downloadDir, `${pkg.name}_${pkg.version}.deb`);
  if (
    await stat(file).then(
      () => true,
      () => false,
    )
  )
    return file;
  const work = path.join(downloadDir, `.download-${process.pid}`);
  await mkdir(work, { recursive: true });
  try {
    await run('apt-get', ['download', `${pkg.name}=${pkg.version}`], { cwd: work, maxBuffer: 16 * 1024 * 1024 });
    const deb = (await readdir(work)).find((f) => f.endsWith('.deb'));
    if (!deb) throw new Error(`apt-get download ${pkg.name}=${pkg.version} produced no .deb`);
    await rename(path.join(work, deb), file);
    return file;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** Unpacks the .deb into `dir`; returns the kernel release (the lib/modules/<release> name). */
export async function unpackKernelPackage(deb: string, dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  await run('dpkg', ['-x', deb, dir]);
  const releases = await readdir(path.join(dir, 'lib/modules'));
  if (releases.length !== 1 || !releases[0])
    throw new Error(`expected one kernel release in ${deb}, found ${releases.join(', ')}`);
  return releases[0];
}

/** Writes the uncompressed vmlinux held (xz-compressed) inside a bzImage. */
export async function extractVmlinux(bzImage: string, out: string): Promise<void> {
  const image = await readFile(bzImage);
  const at = image.indexOf(XZ_MAGIC);
  if (at < 0) throw new Error(`${bzImage} holds no xz-compressed kernel`);
  const xz = spawn('xz', ['--decompress', '--stdout', '--single-stream'], { stdio: ['pipe', 'pipe', 'pipe'] });
  const sink = createWriteStream(out);
  xz.stdout.pipe(sink);
  let stderr = '';
  xz.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  // xz stops reading after the first stream: the bzImage's trailing bytes may meet a closed pipe.
  xz.stdin.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') stderr += e.message;
  });
  xz.stdin.end(image.subarray(at));
  const [code] = (await once(xz, 'close')) as [number | null];
  if (!sink.writableFinished) await once(sink, 'finish');
  if (code !== 0) throw new Error(`xz failed to decompress the kernel in ${bzImage}: ${stderr.trim()}`);
  const head = Buffer.alloc(4);
  const fh = await open(out);
  await fh.read(head, 0, 4, 0);
  await fh.close();
  if (!head.equals(ELF_MAGIC)) throw new Error(`the kernel decompressed from ${bzImage} is not an ELF file`);
}
