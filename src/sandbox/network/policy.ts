// The egress policy core: which addresses a sandbox with `network: true` may
// connect to. Everything but the public internet is refused (ranges.ts), and so
// is every address of the host itself (on every interface, read when a policy
// is compiled and again at most a second later), unless the operator's allow
// list (`egressAllow`, `--egress-allow`) names it. The isolate fetch proxy asks
// isAllowed() for each address it is about to connect to; the OS sandboxes get
// the same decisions as nftables rules (nft-rules.ts).
import net from 'node:net';
import os from 'node:os';
import type { EgressPolicy } from '../driver.ts';
import { parseCidr, type Cidr } from './cidr.ts';
import { BLOCKED_IPV4, BLOCKED_IPV6 } from './ranges.ts';

const HOST_ADDRESSES_TTL_MS = 1000;

/** Every address on every interface of this host (its network namespace), zone ids dropped. */
export function hostAddresses(): string[] {
  const out = new Set<string>();
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) out.add(a.address.split('%')[0] ?? a.address);
  }
  return [...out];
}

function blockListOf(cidrs: readonly Cidr[]): net.BlockList {
  const list = new net.BlockList();
  for (const c of cidrs) list.addSubnet(c.address, c.prefix, c.family);
  return list;
}

function familyOf(address: string): 'ipv4' | 'ipv6' | undefined {
  const v = net.isIP(address.split('%')[0] ?? '');
  return v === 4 ? 'ipv4' : v === 6 ? 'ipv6' : undefined;
}

export class EgressRules {
  readonly allow: readonly Cidr[];
  readonly blocked: readonly (Cidr & { why: string })[];
  private readonly allowList: net.BlockList;
  private readonly blockedList: net.BlockList;
  private host: { at: number; addresses: string[]; list: net.BlockList } = {
    at: 0,
    addresses: [],
    list: new net.BlockList(),
  };

  /** Throws NimbusError bad_request naming the first allow entry that is not a CIDR. */
  constructor(policy: EgressPolicy) {
    this.allow = policy.allow.map(parseCidr);
    this.blocked = [...BLOCKED_IPV4, ...BLOCKED_IPV6].map((r) => ({ ...parseCidr(r.cidr), why: r.why }));
    this.allowList = blockListOf(this.allow);
    this.blockedList = blockListOf(this.blocked);
  }

  /** The host's own addresses now (re-read at most once a second). */
  hostAddresses(): string[] {
    if (Date.now() - this.host.at > HOST_ADDRESSES_TTL_MS) {
      const addresses = hostAddresses();
      const list = new net.BlockList();
      for (const a of addresses) list.addAddress(a, familyOf(a));
      this.host = { at: Date.now(), addresses, list };
    }
    return this.host.addresses;
  }

  /** Why a connection to `address` (an IP literal) is refused, or undefined when it may go ahead. */
  refusal(address: string): string | undefined {
    const family = familyOf(address);
    if (!family) return `${JSON.stringify(address)} is not an IP address`;
    const bare = address.split('%')[0] ?? address;
    if (this.allowList.check(bare, family)) return undefined;
    if (this.blockedList.check(bare, family)) {
      const range = this.blocked.find((r) => blockListOf([r]).check(bare, family));
      return `${address} is ${range ? `in ${range.text}, ${range.why}` : 'not on the public internet'}`;
    }
    this.hostAddresses();
    if (this.host.list.check(bare, family)) return `${address} is an address of the host itself`;
    return undefined;
  }

  /** Whether the operator's allow list names `address`. */
  allowListed(address: string): boolean {
    const family = familyOf(address);
    return family !== undefined && this.allowList.check(address.split('%')[0] ?? address, family);
  }

  isAllowed(address: string): boolean {
    return this.refusal(address) === undefined;
  }
}
