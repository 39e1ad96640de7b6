// The address ranges a sandbox with `network: true` never reaches unless the
// operator allows them: everything that is not the public internet. IANA's
// special-purpose registries (RFC 6890 and successors), IPv4 and IPv6 alike.
// IPv4-mapped IPv6 (::ffff:a.b.c.d) is judged by its IPv4 address, and so is
// IPv4-translated IPv6 (::ffff:0:a.b.c.d, RFC 2765): each refused IPv4 range
// is refused in that form too; prefixes that embed an IPv4 address in another
// way (NAT64, 6to4, Teredo) are refused whole, so a private IPv4 address
// cannot be reached through them.

export interface BlockedRange {
  cidr: string;
  why: string;
}

export const BLOCKED_IPV4: readonly BlockedRange[] = [
  { cidr: '0.0.0.0/8', why: 'unspecified ("this network")' },
  { cidr: '10.0.0.0/8', why: 'private' },
  { cidr: '100.64.0.0/10', why: 'private (carrier-grade NAT)' },
  { cidr: '127.0.0.0/8', why: 'loopback' },
  { cidr: '169.254.0.0/16', why: 'link-local (cloud metadata services live here)' },
  { cidr: '172.16.0.0/12', why: 'private' },
  { cidr: '192.0.0.0/24', why: 'reserved (IETF protocol assignments)' },
  { cidr: '192.0.2.0/24', why: 'reserved (documentation)' },
  { cidr: '192.88.99.0/24', why: 'reserved (6to4 relay)' },
  { cidr: '192.168.0.0/16', why: 'private' },
  { cidr: '198.18.0.0/15', why: 'reserved (benchmarking)' },
  { cidr: '198.51.100.0/24', why: 'reserved (documentation)' },
  { cidr: '203.0.113.0/24', why: 'reserved (documentation)' },
  { cidr: '224.0.0.0/4', why: 'multicast' },
  { cidr: '240.0.0.0/4', why: 'reserved (and broadcast)' },
];

/** The refused IPv4 ranges as IPv4-translated IPv6 (::ffff:0:0:0/96 + the IPv4 prefix). */
const TRANSLATED_IPV4: readonly BlockedRange[] = BLOCKED_IPV4.map(({ cidr, why }) => {
  const [address, prefix] = cidr.split('/');
  return { cidr: `::ffff:0:${address}/${96 + Number(prefix)}`, why: `IPv4-translated (RFC 2765), ${why}` };
});

export const BLOCKED_IPV6: readonly BlockedRange[] = [
  { cidr: '::/96', why: 'unspecified, loopback or IPv4-compatible (deprecated)' },
  { cidr: '64:ff9b::/96', why: 'NAT64 (embeds an IPv4 address)' },
  { cidr: '64:ff9b:1::/48', why: 'NAT64, local use' },
  { cidr: '100::/64', why: 'reserved (discard)' },
  { cidr: '2001::/23', why: 'reserved (IETF protocol assignments, Teredo)' },
  { cidr: '2001:db8::/32', why: 'reserved (documentation)' },
  { cidr: '2002::/16', why: '6to4 (embeds an IPv4 address)' },
  { cidr: '3fff::/20', why: 'reserved (documentation)' },
  { cidr: '5f00::/16', why: 'reserved (segment routing)' },
  { cidr: 'fc00::/7', why: 'private (unique local)' },
  { cidr: 'fe80::/10', why: 'link-local' },
  { cidr: 'fec0::/10', why: 'site-local (deprecated)' },
  { cidr: 'ff00::/8', why: 'multicast' },
  ...TRANSLATED_IPV4,
];
