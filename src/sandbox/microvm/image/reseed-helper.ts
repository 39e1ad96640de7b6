// The guest's CRNG reseed helper (src/guest/reseed-crng.c): a static binary
// compiled with the host's gcc at image build and placed in the initramfs as
// /bin/nimbus-reseed. Node cannot issue the ioctls that make a restored
// guest's kernel CRNG fresh, so the agent runs this after each restore.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const RESEED_SOURCE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../guest/reseed-crng.c');
/** Where the initramfs holds it (the init script names it to the agent). */
export const RESEED_GUEST_PATH = 'bin/nimbus-reseed';

/** Compiles the helper to `out` (static: the initramfs has no C library). */
export async function buildReseedHelper(out: string): Promise<void> {
  try {
    await run('gcc', ['-static', '-Os', '-s', '-Wall', '-o', out, RESEED_SOURCE]);
  } catch (e) {
    const detail = (e as { stderr?: string }).stderr || (e as Error).message;
    throw new Error(
      `cannot build the guest's CRNG reseed helper with gcc (needs gcc and libc6-dev; scripts/setup.sh installs them): ${detail}`,
    );
  }
}
