// `--egress-allow <cidr>` on `nimbus serve` and `nimbus invoker`: ranges that
// functions with `network: true` may reach although they are private, loopback
// or the host's own (the egress policy refuses them otherwise). Repeatable;
// NIMBUS_EGRESS_ALLOW takes a comma-separated list. Checked before the
// platform starts, with an error naming the bad entry.
import type { Command } from 'commander';
import type { PlatformOptions } from '../platform.ts';
import { cidrProblem } from '../sandbox/network/cidr.ts';
import { CliError } from './client.ts';

export interface EgressOpts { egressAllow: string[] }

const fromEnv = (process.env.NIMBUS_EGRESS_ALLOW ?? '').split(',').map((s) => s.trim()).filter(Boolean);

export function addEgressFlag(command: Command): void {
  command.option(
    '--egress-allow <cidr>',
    'let functions with network reach this range although it is private, loopback or the host\'s own (repeatable; default: the public internet only)',
    (value: string, previous: string[]) => [...previous, value],
    fromEnv,
  );
}

export function egressOptions(o: EgressOpts): Pick<PlatformOptions, 'egressAllow'> {
  for (const entry of o.egressAllow) {
    const problem = cidrProblem(entry);
    if (problem) throw new CliError(`--egress-allow "${entry}" is not a CIDR: ${problem}; write an address with a prefix length, such as --egress-allow 10.1.0.0/16`, 2);
  }
  return { egressAllow: o.egressAllow };
}
