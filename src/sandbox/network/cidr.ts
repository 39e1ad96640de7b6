// CIDR notation as the operator writes it (`--egress-allow 10.1.0.0/16`,
// `egressAllow` in the options): parsed and checked once, with an error that
// says what was wrong and what a good value looks like. A bare address means
// that one address (/32 or /128).
import net from 'node:net';
import { NimbusError } from '../../shared/errors.ts';

export interface Cidr {
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
  /** Normalised text, e.g. 10.1.0.0/16 */
  text: string;
}

/** Why `text` is not a CIDR, or undefined when it is one. */
export function cidrProblem(text: string): string | undefined {
  const [address = '', prefixText, extra] = text.trim().split('/');
  if (extra !== undefined) return 'it has more than one "/"';
  const version = net.isIP(address);
  if (version === 0) return `"${address}" is not an IPv4 or IPv6 address`;
  const max = version === 4 ? 32 : 128;
  if (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText))
    return `the prefix length "${prefixText}" is not a number`;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (prefix > max) return `the prefix length ${prefix} is over ${max}, the most an IPv${version} address has`;
  return undefined;
}

export function parseCidr(text: string): Cidr {
  const problem = cidrProblem(text);
  if (problem) {
    throw new NimbusError(
      'bad_request',
      `egress allow entry ${JSON.stringify(text)} is not a CIDR: ${problem}; write an address with a prefix length, such as 10.1.0.0/16 or fd00:1::/64`,
    );
  }
  const [address = '', prefixText] = text.trim().split('/');
  const family = net.isIP(address) === 4 ? 'ipv4' : 'ipv6';
  const bits = family === 'ipv4' ? 32 : 128;
  const prefix = prefixText === undefined ? bits : Number(prefixText);
  // Host bits cleared: nftables refuses 10.1.2.3/16, and the text names the range.
  const mask = ((1n << BigInt(prefix)) - 1n) << BigInt(bits - prefix);
  const network = fromBigInt(toBigInt(address, family) & mask, family);
  return { address: network, prefix, family, text: `${network}/${prefix}` };
}

function toBigInt(address: string, family: 'ipv4' | 'ipv6'): bigint {
  if (family === 'ipv4') return address.split('.').reduce((n, part) => (n << 8n) | BigInt(Number(part)), 0n);
  let text = address.split('%')[0] ?? '';
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text)?.[1];
  if (v4) {
    const n = toBigInt(v4, 'ipv4');
    text = `${text.slice(0, -v4.length)}${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const headParts = head ? head.split(':') : [];
  const tailParts = tail ? tail.split(':') : [];
  const groups = [...headParts, ...Array<string>(8 - headParts.length - tailParts.length).fill('0'), ...tailParts];
  return groups.reduce((n, g) => (n << 16n) | BigInt(parseInt(g, 16)), 0n);
}

function fromBigInt(n: bigint, family: 'ipv4' | 'ipv6'): string {
  if (family === 'ipv4') return [24n, 16n, 8n, 0n].map((s) => String((n >> s) & 0xffn)).join('.');
  const groups = [112n, 96n, 80n, 64n, 48n, 32n, 16n, 0n].map((s) => ((n >> s) & 0xffffn).toString(16));
  // The usual short form: the longest run of zero groups (two or more) becomes "::".
  let best = { at: -1, length: 1 };
  for (let i = 0; i < 8; i++) {
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > best.length) best = { at: i, length: j - i };
  }
  if (best.at < 0) return groups.join(':');
  return `${groups.slice(0, best.at).join(':')}::${groups.slice(best.at + best.length).join(':')}`;
}
