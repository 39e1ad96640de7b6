// The guest's initramfs: busybox (static) with a link per applet, the CRNG
// reseed helper, the kernel
// modules in load order, the init script (src/guest/microvm-init.sh) and a
// few files node expects in /etc. Node itself is not here: it lives on the
// read-only runtime disk, so the guest's RAM holds only what node touches.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { CpioEntry } from './cpio.ts';
import type { ModuleIndex } from './modules.ts';
import { RESEED_GUEST_PATH } from './reseed-helper.ts';

const run = promisify(execFile);

export const BUSYBOX = '/bin/busybox';
/** The runtime disk's dynamic loader, where node's ELF header looks for it. */
const LOADER = 'lib64/ld-linux-x86-64.so.2';

export interface InitramfsInputs {
  initScript: string;
  modules: ModuleIndex;
  /** Modules loaded at every boot, in load order. */
  baseModules: string[];
  /** Modules loaded only when the guest has a network card, in load order. */
  netModules: string[];
  /** The static CRNG reseed helper (reseed-helper.ts), placed at RESEED_GUEST_PATH. */
  reseedHelper: string;
}

async function busyboxApplets(): Promise<string[]> {
  const { stdout } = await run(BUSYBOX, ['--list']);
  return stdout.split('\n').filter((a) => a && a !== 'busybox' && /^[\w.[-]+$/.test(a));
}

export async function initramfsEntries(inputs: InitramfsInputs): Promise<CpioEntry[]> {
  const entries: CpioEntry[] = [];
  for (const dir of [
    'bin',
    'dev',
    'etc',
    'etc/nimbus',
    'lib',
    'lib/modules',
    'lib64',
    'nimbus',
    'proc',
    'run',
    'sys',
    'tmp',
  ]) {
    entries.push({ kind: 'dir', path: dir, mode: dir === 'tmp' ? 0o1777 : 0o755 });
  }
  entries.push({ kind: 'file', path: 'bin/busybox', data: await readFile(BUSYBOX), mode: 0o755 });
  for (const applet of await busyboxApplets())
    entries.push({ kind: 'symlink', path: `bin/${applet}`, target: 'busybox' });
  entries.push({ kind: 'file', path: RESEED_GUEST_PATH, data: await readFile(inputs.reseedHelper), mode: 0o755 });
  entries.push({ kind: 'file', path: 'init', data: Buffer.from(inputs.initScript), mode: 0o755 });
  entries.push({ kind: 'chardev', path: 'dev/console', major: 5, minor: 1 });
  entries.push({ kind: 'symlink', path: LOADER, target: `/nimbus/${LOADER}` });
  for (const name of [...inputs.baseModules, ...inputs.netModules]) {
    const file = inputs.modules.files.get(name);
    if (!file) throw new Error(`kernel module ${name} has no file`);
    entries.push({ kind: 'file', path: `lib/modules/${name}.ko`, data: await readFile(file) });
  }
  const lines = (names: string[]) => Buffer.from(names.map((n) => `${n}\n`).join(''));
  entries.push({ kind: 'file', path: 'etc/nimbus/modules', data: lines(inputs.baseModules) });
  entries.push({ kind: 'file', path: 'etc/nimbus/modules-net', data: lines(inputs.netModules) });
  entries.push({ kind: 'file', path: 'etc/passwd', data: Buffer.from('root:x:0:0:root:/tmp:/bin/sh\n') });
  entries.push({ kind: 'file', path: 'etc/group', data: Buffer.from('root:x:0:\n') });
  entries.push({ kind: 'file', path: 'etc/hosts', data: Buffer.from('127.0.0.1 localhost\n::1 localhost\n') });
  return entries;
}

/** Where the initramfs expects the runtime disk's loader; the disk must put it there. */
export const RUNTIME_LOADER_PATH = LOADER;
export const INIT_SCRIPT_PATH = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../../guest/microvm-init.sh',
);
