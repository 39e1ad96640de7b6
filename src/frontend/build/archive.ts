// Unpacks a deployed zip or tar(.gz) into a fresh temporary directory, refusing
// anything unsafe before a byte is written: absolute paths, "..", symlinks and
// other special entries, too many files, or more unpacked bytes than allowed
// (counted as they stream, so a lying header cannot get a zip bomb through).
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';
import yauzl from 'yauzl';
import { NimbusError } from '../../shared/errors.ts';

export interface ArchiveLimits {
  unpackedBytes: number;
  files: number;
}

export type ArchiveKind = 'zip' | 'tar' | 'tgz';

export function archiveKind(body: Buffer): ArchiveKind | undefined {
  if (body.length >= 4 && body.readUInt32LE(0) === 0x04034b50) return 'zip';
  if (body.length >= 2 && body[0] === 0x1f && body[1] === 0x8b) return 'tgz';
  if (body.length >= 262 && body.subarray(257, 262).toString('latin1') === 'ustar') return 'tar';
  return undefined;
}

const bad = (message: string) => new NimbusError('bad_archive', `${message}; nothing was deployed`);

/** The safe destination of an entry inside root, or an error naming the entry. */
export function safeEntryPath(root: string, name: string): string {
  if (name.includes('\0') || name.includes('\\')) throw bad(`archive entry "${name}" has a forbidden character`);
  if (name.startsWith('/') || /^[a-zA-Z]:/.test(name)) throw bad(`archive entry "${name}" is an absolute path`);
  if (name.split('/').includes('..')) throw bad(`archive entry "${name}" climbs out of the archive with ".."`);
  const dest = path.resolve(root, name);
  if (dest !== root && !dest.startsWith(root + path.sep))
    throw bad(`archive entry "${name}" points outside the archive`);
  return dest;
}

class ByteBudget {
  private used = 0;
  private files = 0;
  constructor(private readonly limits: ArchiveLimits) {}
  file(name: string): void {
    if (++this.files > this.limits.files) throw bad(`archive has more than ${this.limits.files} files (at "${name}")`);
  }
  /** A stream stage that counts bytes and fails past the budget. */
  meter(): Transform {
    return new Transform({
      transform: (chunk: Buffer, _enc, cb: TransformCallback) => {
        this.used += chunk.length;
        if (this.used > this.limits.unpackedBytes)
          return cb(bad(`archive unpacks to more than ${this.limits.unpackedBytes} bytes`));
        cb(null, chunk);
      },
    });
  }
}

async function writeEntry(dest: string, source: Readable, budget: ByteBudget): Promise<void> {
  await mkdir(path.dirname(dest), { recursive: true });
  await pipeline(source, budget.meter(), createWriteStream(dest, { flags: 'wx', mode: 0o644 }));
}

async function unzip(body: Buffer, root: string, budget: ByteBudget): Promise<void> {
  const zip = await new Promise<yauzl.ZipFile>((resolve, reject) =>
    yauzl.fromBuffer(body, { lazyEntries: true, strictFileNames: true }, (e, z) =>
      e ? reject(bad(`corrupt zip: ${e.message}`)) : resolve(z),
    ),
  );
  try {
    for (;;) {
      const entry = await new Promise<yauzl.Entry | undefined>((resolve, reject) => {
        zip.once('entry', resolve);
        zip.once('end', () => resolve(undefined));
        zip.once('error', (e: Error) => reject(bad(`corrupt zip: ${e.message}`)));
        zip.readEntry();
      });
      if (!entry) return;
      zip.removeAllListeners('entry').removeAllListeners('end').removeAllListeners('error');
      const name = entry.fileName;
      const dest = safeEntryPath(root, name);
      const mode = (entry.externalFileAttributes >>> 16) & 0o170000;
      if (mode === 0o120000) throw bad(`archive entry "${name}" is a symbolic link`);
      if (name.endsWith('/')) {
        await mkdir(dest, { recursive: true });
        continue;
      }
      if (mode !== 0 && mode !== 0o100000) throw bad(`archive entry "${name}" is not a regular file`);
      budget.file(name);
      const stream = await new Promise<Readable>((resolve, reject) =>
        zip.openReadStream(entry, (e, s) =>
          e ? reject(bad(`corrupt zip entry "${name}": ${e.message}`)) : resolve(s),
        ),
      );
      await writeEntry(dest, stream, budget);
    }
  } finally {
    zip.close();
  }
}

async function untar(body: Buffer, gz: boolean, root: string, budget: ByteBudget): Promise<void> {
  const extract = tar.extract();
  const source = Readable.from([body]);
  const feeding: Promise<unknown> = (
    gz ? pipeline(source, createGunzip(), budget.meter(), extract) : pipeline(source, extract)
  ).then(
    () => undefined,
    (e: unknown) => e,
  );
  for await (const entry of extract) {
    const { name, type } = entry.header;
    const dest = safeEntryPath(root, name);
    if (type === 'directory') {
      await mkdir(dest, { recursive: true });
      entry.resume();
      continue;
    }
    if (type !== 'file' && type !== 'contiguous-file')
      throw bad(`archive entry "${name}" is a ${type ?? 'special entry'}, not a regular file`);
    budget.file(name);
    await writeEntry(dest, entry as unknown as Readable, budget);
  }
  const failure = await feeding;
  if (failure) throw failure instanceof NimbusError ? failure : bad(`corrupt tar: ${(failure as Error).message}`);
}

/** Unpacks into a new temporary directory and returns it; the caller removes it. */
export async function unpackArchive(body: Buffer, kind: ArchiveKind, limits: ArchiveLimits): Promise<string> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'nimbus-archive-'));
  const budget = new ByteBudget(limits);
  try {
    if (kind === 'zip') await unzip(body, root, budget);
    else await untar(body, kind === 'tgz', root, budget);
    return root;
  } catch (e) {
    await rm(root, { recursive: true, force: true });
    if (e instanceof NimbusError) throw e;
    throw bad(`could not unpack the ${kind} archive: ${(e as Error).message}`);
  }
}
