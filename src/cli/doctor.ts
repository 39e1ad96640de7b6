// `nimbus doctor`: probes every engine on this machine (no server needed) and
// says which can run, why not, what each cannot contain, and engine details
// such as the microVM accelerator or crun's state.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { DEFAULTS } from '../config/options.ts';
import { DriverSet } from '../engine/drivers.ts';
import { bundleGuest } from '../sandbox/agent-bundle.ts';
import { egressReport } from '../sandbox/network/report.ts';
import { print } from './client.ts';

export async function doctorReport(): Promise<string> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'nimbus-doctor-'));
  const drivers = new DriverSet({
    dataDir,
    agentPath: await bundleGuest(path.join(dataDir, 'build')),
    log: () => undefined,
    egress: { allow: [...DEFAULTS.egressAllow] },
  });
  try {
    const report = await drivers.report();
    const lines: string[] = [];
    for (const [kind, r] of Object.entries(report)) {
      lines.push(`${kind.padEnd(10)} ${r.available ? 'available  ' : 'unavailable'}  ${r.reason}`);
      for (const [k, v] of Object.entries(r.details ?? {}))
        lines.push(`${''.padEnd(24)}${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`);
      for (const [cap, v] of Object.entries(r.capabilities ?? {}))
        if (v !== true) lines.push(`${''.padEnd(24)}no ${cap}${v === false ? '' : `: ${v}`}`);
    }
    const egress = await egressReport({ allow: [...DEFAULTS.egressAllow] });
    egress.lines.forEach((line, i) =>
      lines.push(
        `${i === 0 ? `${'egress'.padEnd(10)} ${egress.available ? 'available  ' : 'unavailable'}  ` : ''.padEnd(24)}${line}`,
      ),
    );
    return lines.join('\n');
  } finally {
    await drivers.dispose();
    await rm(dataDir, { recursive: true, force: true });
  }
}

export function registerDoctorCommand(program: Command): void {
  program
    .command('doctor')
    .description('probe every engine on this machine: available or not, and why')
    .action(async () => print(await doctorReport()));
}
