// Standby microVMs (scale to zero with state, issue 18): an idle sandbox past
// its keep-alive is saved with QEMU's migration stream (its RAM included:
// streamed, since it is the sandbox's own and restored once) to
// <dataDir>/microvm/standby/<function tag>-<sandbox id>.vmstate (0700
// directory, 0600 file: it holds the function's memory) and stopped. resume()
// restores it under the same id with its module state intact and deletes the
// file; discard() deletes it. The file name starts with the function's tag
// (function-snapshots.ts), so deleting the function finds its states.
import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { Sandbox, SandboxSpec, StandbySandbox } from '../driver.ts';
import { diskBytes, functionTag } from './function-snapshots.ts';

export function standbyFile(dir: string, spec: SandboxSpec): string {
  return path.join(dir, `${functionTag(spec.functionName)}-${spec.id}.vmstate`);
}

/** The handle of a saved sandbox; resume and discard may each run once. */
export async function parkedSandbox(
  spec: SandboxSpec,
  file: string,
  createdAt: string,
  restore: () => Promise<Sandbox>,
): Promise<StandbySandbox> {
  const bytes = await diskBytes(file);
  let used = false;
  const once = () => {
    if (used) throw new Error(`standby sandbox ${spec.id} was already resumed or discarded`);
    used = true;
  };
  return {
    id: spec.id,
    spec,
    diskBytes: bytes,
    since: new Date().toISOString(),
    createdAt,
    resume: async () => {
      once();
      return restore();
    },
    discard: async () => {
      if (used) return;
      used = true;
      await rm(file, { force: true });
    },
  };
}
