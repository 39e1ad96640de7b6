// `nimbus setup microvm`: builds (or finds cached) the microVM guest image, the
// Debian kernel and the minimal initramfs, showing progress as it goes.
import path from 'node:path';
import type { Command } from 'commander';
import { ensureMicrovmImage } from '../sandbox/microvm/image/build.ts';
import { CliError, print } from './client.ts';

export function registerSetupCommand(program: Command): void {
  program.command('setup <part>').description('prepare an engine ahead of use; "microvm" builds the guest image')
    .option('--data-dir <dir>', 'where state lives', process.env.NIMBUS_DATA_DIR ?? '.nimbus')
    .action(async (part: string, o: { dataDir: string }) => {
      if (part !== 'microvm') throw new CliError(`nothing to set up for "${part}": the only part is "microvm"`, 2);
      const image = await ensureMicrovmImage(path.resolve(o.dataDir), (message) => process.stderr.write(`${message}\n`));
      print(image);
    });
}
