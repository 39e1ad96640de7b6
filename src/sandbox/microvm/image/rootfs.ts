// The guest's read-only runtime disk (ext4, attached as virtio-blk): the
// host's node binary and the shared libraries it links, GNU date (the guest
// sets its clock with it after a restore) and the bundled runtime agent. It is
// a disk rather than part of the initramfs so that node's ~100 MB are read on
// demand into the page cache instead of filling guest RAM.
import { execFile } from 'node:child_process';
import { chmod, copyFile, mkdir, readdir, realpath, rm, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { RUNTIME_LOADER_PATH } from './initramfs.ts';

const run = promisify(execFile);
const GNU_DATE = '/usr/bin/date';
/** Fixed identifiers so that the same files always make the same disk. */
const FS_UUID = '6e696d62-7573-4d56-8000-000000000001';
const FAKE_TIME = '1';

export interface RuntimeFiles {
  node: string;
  date: string;
  agent: string;
  /** Shared libraries by soname (what the loader searches in LD_LIBRARY_PATH). */
  libraries: Map<string, string>;
  loader: string;
}

/** The binaries and every library they link, resolved on this host. */
export async function runtimeFiles(agentPath: string): Promise<RuntimeFiles> {
  const node = await realpath(process.execPath);
  const libraries = new Map<string, string>();
  let loader = '';
  for (const binary of [node, GNU_DATE]) {
    const { stdout } = await run('ldd', [binary]);
    for (const line of stdout.split('\n')) {
      const linked = /^\s*(\S+) => (\/\S+)/.exec(line);
      if (linked?.[1] && linked[2]) libraries.set(linked[1], await realpath(linked[2]));
      const interp = /^\s*(\/\S*ld-linux[^\s]*)/.exec(line);
      if (interp?.[1]) loader = await realpath(interp[1]);
    }
  }
  if (!loader) throw new Error(`ldd names no dynamic loader for ${node}`);
  return { node, date: GNU_DATE, agent: agentPath, libraries, loader };
}

async function place(from: string, to: string, mode: number): Promise<void> {
  await mkdir(path.dirname(to), { recursive: true });
  await copyFile(from, to);
  await chmod(to, mode);
}

async function zeroTimes(dir: string): Promise<void> {
  for (const rel of await readdir(dir, { recursive: true })) await utimes(path.join(dir, rel), 1, 1);
  await utimes(dir, 1, 1);
}

/** Stages the files in `stagingDir` and makes the ext4 image `out` from them. */
export async function buildRuntimeDisk(files: RuntimeFiles, stagingDir: string, out: string): Promise<void> {
  await place(files.node, path.join(stagingDir, 'bin/node'), 0o755);
  await place(files.date, path.join(stagingDir, 'bin/date'), 0o755);
  await place(files.agent, path.join(stagingDir, 'agent/agent.cjs'), 0o644);
  for (const [soname, file] of files.libraries) await place(file, path.join(stagingDir, 'lib', soname), 0o755);
  await place(files.loader, path.join(stagingDir, RUNTIME_LOADER_PATH), 0o755);
  await zeroTimes(stagingDir);
  let bytes = 0;
  for (const rel of await readdir(stagingDir, { recursive: true }))
    bytes += (await stat(path.join(stagingDir, rel))).size;
  const sizeMb = Math.ceil((bytes * 1.1) / (1024 * 1024)) + 16;
  const args = [
    '-q',
    '-F',
    '-t',
    'ext4',
    '-O',
    '^has_journal,^metadata_csum',
    '-m',
    '0',
    '-N',
    '256',
    '-L',
    'nimbus-runtime',
  ];
  args.push('-U', FS_UUID, '-E', `hash_seed=${FS_UUID},root_owner=0:0`, '-d', stagingDir, out, `${sizeMb}M`);
  const PATH = `${process.env.PATH ?? '/usr/bin:/bin'}:/usr/sbin:/sbin`; // Debian keeps e2fsprogs in /usr/sbin
  const env = { ...process.env, PATH, E2FSPROGS_FAKE_TIME: FAKE_TIME };
  await run('mke2fs', args, { env });
  // mke2fs -d copies each file's change and access times, which reading the
  // staged files moves on the host: fix them in the image.
  const inodes = ['/', ...(await readdir(stagingDir, { recursive: true })).sort().map((rel) => `/${rel}`)];
  const commands = inodes
    .flatMap((p) => ['ctime', 'atime'].map((field) => `set_inode_field ${p} ${field} ${FAKE_TIME}`))
    .join('\n');
  const script = path.join(stagingDir, '..', 'debugfs-commands');
  await writeFile(script, `${commands}\n`);
  await run('debugfs', ['-w', '-f', script, out], { env });
  await rm(script);
}
