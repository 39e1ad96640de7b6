// The egress policy for connections the host makes on a function's behalf
// (the isolate engine's fetch): an undici Agent whose connector checks the
// address it is about to connect to. A name is resolved once, every address it
// resolves to is checked, and the socket connects to a checked address: no
// second lookup happens between check and connect, so DNS rebinding cannot
// slip a loopback address in. IP literals (which skip the lookup) are checked
// before connecting. Every redirect hop opens its connection through the same
// connector, so it is checked too.
import dns, { type LookupAddress, type LookupAllOptions } from 'node:dns';
import net from 'node:net';
import { Agent, buildConnector } from 'undici';
import type { EgressRules } from './policy.ts';

/** Resolves a name to all its addresses (dns.lookup by default; tests may give their own resolver). */
export type Resolve = (
  hostname: string,
  options: LookupAllOptions,
  callback: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void,
) => void;

export const EGRESS_REFUSED = 'EGRESS_REFUSED';
const ADVICE =
  'functions with network reach the public internet only (an operator can allow ranges with --egress-allow)';

export class EgressRefusedError extends Error {
  readonly code = EGRESS_REFUSED;
  constructor(target: string, why: string) {
    super(`egress refused: ${target}: ${why}; ${ADVICE}`);
  }
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** A `lookup` for net.connect that refuses a name when any of its addresses is refused. */
export function checkedLookup(rules: EgressRules, resolve: Resolve = dns.lookup as unknown as Resolve) {
  return (hostname: string, options: { all?: boolean; family?: number | string }, callback: LookupCallback): void => {
    const family =
      options.family === 'IPv6' || options.family === 6 ? 6 : options.family === 'IPv4' || options.family === 4 ? 4 : 0;
    resolve(hostname, { all: true, family }, (err, addresses) => {
      if (err) return callback(err, []);
      for (const a of addresses) {
        const why = rules.refusal(a.address);
        if (why) return callback(new EgressRefusedError(`${hostname} resolves to ${a.address}`, why), []);
      }
      const first = addresses[0];
      if (!first) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), []);
      if (options.all) callback(null, addresses);
      else callback(null, first.address, first.family);
    });
  };
}

/** An undici Agent that connects only where the policy allows. */
export function egressAgent(rules: EgressRules, resolve?: Resolve): Agent {
  const connectChecked = buildConnector({ lookup: checkedLookup(rules, resolve) as never, timeout: 10_000 });
  const connect: buildConnector.connector = (options, callback) => {
    const literal = options.hostname.replace(/^\[(.*)\]$/, '$1');
    if (net.isIP(literal)) {
      const why = rules.refusal(literal);
      if (why) return callback(new EgressRefusedError(literal, why), null);
    }
    return connectChecked(options, callback);
  };
  return new Agent({ connect });
}
