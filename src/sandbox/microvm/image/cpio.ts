// A writer for the "newc" cpio format that the Linux kernel unpacks as an
// initramfs. Written here rather than with the cpio tool so that the archive is
// byte-for-byte reproducible (sorted entries, fixed inode numbers, owner root,
// time zero) and can hold device nodes without creating them on the host.
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';

export type CpioEntry =
  | { kind: 'dir'; path: string; mode?: number }
  | { kind: 'file'; path: string; data: Buffer; mode?: number }
  | { kind: 'symlink'; path: string; target: string }
  | { kind: 'chardev'; path: string; major: number; minor: number; mode?: number };

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;

function hex8(n: number): string {
  return n.toString(16).padStart(8, '0');
}

function pad4(length: number): Buffer {
  return Buffer.alloc((4 - (length % 4)) % 4);
}

function header(
  ino: number,
  mode: number,
  nlink: number,
  size: number,
  name: string,
  rdev: [number, number] = [0, 0],
): Buffer {
  const nameBytes = Buffer.from(`${name}\0`, 'utf8');
  const fields = [ino, mode, 0, 0, nlink, 0, size, 0, 0, rdev[0], rdev[1], nameBytes.length, 0];
  const head = Buffer.from(`070701${fields.map(hex8).join('')}`, 'ascii');
  return Buffer.concat([head, nameBytes, pad4(head.length + nameBytes.length)]);
}

function encode(entry: CpioEntry, ino: number): Buffer[] {
  const name = entry.path.replace(/^\/+/, '');
  switch (entry.kind) {
    case 'dir':
      return [header(ino, S_IFDIR | (entry.mode ?? 0o755), 2, 0, name)];
    case 'file':
      return [
        header(ino, S_IFREG | (entry.mode ?? 0o644), 1, entry.data.length, name),
        entry.data,
        pad4(entry.data.length),
      ];
    case 'symlink': {
      const target = Buffer.from(entry.target, 'utf8');
      return [header(ino, S_IFLNK | 0o777, 1, target.length, name), target, pad4(target.length)];
    }
    case 'chardev':
      return [header(ino, S_IFCHR | (entry.mode ?? 0o600), 1, 0, name, [entry.major, entry.minor])];
  }
}

/** Writes the entries, sorted by path (parents before children), to `file`. */
export async function writeCpio(file: string, entries: CpioEntry[]): Promise<void> {
  const sorted = [...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const out = createWriteStream(file);
  let ino = 1;
  for (const entry of sorted) {
    for (const chunk of encode(entry, ino++)) {
      if (!out.write(chunk)) await once(out, 'drain');
    }
  }
  out.end(Buffer.concat(encode({ kind: 'file', path: 'TRAILER!!!', data: Buffer.alloc(0), mode: 0 }, 0)));
  await once(out, 'finish');
}
