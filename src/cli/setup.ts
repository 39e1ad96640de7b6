// `nimbus setup microvm`: builds (or finds cached) the microVM guest image, the
// Debian kernel and the minimal initramfs, showing progress as it goes.
import path from 'node:path';
import type { Command } from 'commander';
import { DEFAULTS } from '../config/options.ts';
import { ensureMicrovmImage } from '../sandbox/microvm/image/build.ts';
import { CliError, print } from './client.ts';
import { platformFlags } from './platform-flags.ts';

/** The data dir is the same flag as serve's, so an image built here is the one serve finds. */
const FLAGS = platformFlags(['dataDir']);

export function registerSetupCommand(program: Command): void {
  const setup = program
    .command('setup <part>')
    .description('prepare an engine ahead of use; "microvm" builds the guest image');
  FLAGS.addTo(setup).action(async (part: string, o: Record<string, unknown>) => {
    if (part !== 'microvm') throw new CliError(`nothing to set up for "${part}": the only part is "microvm"`, 2);
    const image = await ensureMicrovmImage(path.resolve(FLAGS.read(o).dataDir ?? DEFAULTS.dataDir), (message) =>
      process.stderr.write(`${message}\n`),
    );
    print(image);
  });
}
