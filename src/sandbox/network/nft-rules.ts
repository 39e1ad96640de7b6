// The egress policy as an nftables ruleset for the inside of a sandbox's
// network namespace, so that the kernel checks every packet the sandbox sends
// (every protocol, on the address actually connected). Order matters: the
// namespace's own loopback, then slirp4netns's DNS forwarder (port 53 only),
// then the operator's allow list, then a reject for every blocked range and
// every address of the host; the rest (the public internet) is accepted.
import type { EgressRules } from './policy.ts';
import { parseCidr } from './cidr.ts';

/** slirp4netns's addresses inside the namespace (its defaults for 10.0.2.0/24). */
export const SLIRP = { gateway: '10.0.2.2', dns: '10.0.2.3', guest: '10.0.2.100', device: 'tap0' } as const;
export const NFT_TABLE = 'nimbus_egress';

function match(cidrText: string): string {
  const c = parseCidr(cidrText);
  return `${c.family === 'ipv4' ? 'ip' : 'ip6'} daddr ${c.text}`;
}

/** Whether the allow list opens the host's loopback (slirp4netns shows it as 10.0.2.2). */
export function allowsHostLoopback(rules: EgressRules): boolean {
  return rules.allowListed('127.0.0.1');
}

export function nftRuleset(rules: EgressRules): string {
  const reject = 'reject with icmpx type admin-prohibited';
  const lines = [
    'oifname "lo" accept',
    `ip daddr ${SLIRP.dns} udp dport 53 accept`,
    `ip daddr ${SLIRP.dns} tcp dport 53 accept`,
    ...(allowsHostLoopback(rules) ? [`ip daddr ${SLIRP.gateway} accept`] : []),
    ...rules.allow.map((c) => `${match(c.text)} accept`),
    ...rules.blocked.map((c) => `${match(c.text)} ${reject}`),
    ...rules.hostAddresses().map((a) => `${match(a)} ${reject}`),
  ];
  return [
    `table inet ${NFT_TABLE} {`,
    '  chain egress {',
    '    type filter hook output priority 0; policy accept;',
    ...lines.map((l) => `    ${l}`),
    '  }',
    '}',
    '',
  ].join('\n');
}
