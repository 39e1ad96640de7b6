// Kernel modules for the guest: Debian builds virtio, virtio_mmio, the virtio
// console, block and balloon drivers and ext4 as modules, so the initramfs
// carries them and init loads them with insmod, dependencies first. The
// dependencies are read from each module's .modinfo section ("depends=").
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

export interface ModuleIndex {
  /** Module name (underscores) → path of its .ko file. */
  files: Map<string, string>;
  /** Modules built into the kernel: nothing to load. */
  builtin: Set<string>;
}

const normalize = (name: string) => name.replace(/-/g, '_');

export async function indexModules(releaseDir: string): Promise<ModuleIndex> {
  const files = new Map<string, string>();
  for (const rel of await readdir(path.join(releaseDir, 'kernel'), { recursive: true })) {
    if (rel.endsWith('.ko')) files.set(normalize(path.basename(rel, '.ko')), path.join(releaseDir, 'kernel', rel));
  }
  const builtinList = await readFile(path.join(releaseDir, 'modules.builtin'), 'utf8').catch(() => '');
  const builtin = new Set(
    builtinList
      .split('\n')
      .filter(Boolean)
      .map((p) => normalize(path.basename(p, '.ko'))),
  );
  return { files, builtin };
}

/** The "depends=" entry of a module's .modinfo strings. */
export function moduleDepends(ko: Buffer): string[] {
  const key = Buffer.from('\0depends=');
  const at = ko.indexOf(key);
  if (at < 0) return [];
  const end = ko.indexOf(0, at + key.length);
  return ko
    .subarray(at + key.length, end)
    .toString('ascii')
    .split(',')
    .filter(Boolean)
    .map(normalize);
}

/**
 * The modules to load for `wanted`, dependencies before dependents, leaving
 * out built-in modules and those in `alreadyLoaded`.
 */
export async function loadOrder(index: ModuleIndex, wanted: string[], alreadyLoaded: string[] = []): Promise<string[]> {
  const order: string[] = [];
  const done = new Set(alreadyLoaded);
  const visiting = new Set<string>();
  const visit = async (name: string): Promise<void> => {
    if (done.has(name) || index.builtin.has(name)) return;
    if (visiting.has(name)) throw new Error(`kernel module dependency cycle at ${name}`);
    const file = index.files.get(name);
    if (!file) throw new Error(`kernel module ${name} is neither built in nor shipped in the kernel package`);
    visiting.add(name);
    for (const dep of moduleDepends(await readFile(file))) await visit(dep);
    visiting.delete(name);
    done.add(name);
    order.push(name);
  };
  for (const name of wanted) await visit(name);
  return order;
}
