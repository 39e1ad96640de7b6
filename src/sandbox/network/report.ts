// What `network: true` means on this machine, for `nimbus doctor`: the policy
// in one sentence, and whether OS sandboxes can get their filtered network
// namespace here (tried for real: opened and closed once).
import type { EgressPolicy } from '../driver.ts';
import { openSandboxNetwork } from './namespace.ts';
import { EgressRules } from './policy.ts';

export const EGRESS_MEANING =
  "network: true means the public internet only: never the host's loopback or own addresses, link-local (169.254/16, fe80::/10), private, multicast or reserved ranges, IPv4 and IPv6, checked on the address actually connected";

export async function egressReport(policy: EgressPolicy): Promise<{ available: boolean; lines: string[] }> {
  const rules = new EgressRules(policy);
  const allow = rules.allow.length > 0 ? `; allowed by the operator: ${rules.allow.map((c) => c.text).join(', ')}` : '';
  const lines = [`${EGRESS_MEANING}${allow}.`];
  lines.push('isolate: the host fetches for the function and checks every resolved address and redirect hop.');
  try {
    const network = await openSandboxNetwork(rules);
    await network.close();
    lines.push(
      'container, microvm (and process under bubblewrap): a network namespace per sandbox, nftables rules inside, slirp4netns outward.',
    );
    return { available: true, lines };
  } catch (e) {
    lines.push(`container and microvm functions with network cannot start here: ${(e as Error).message}`);
    return { available: false, lines };
  }
}
