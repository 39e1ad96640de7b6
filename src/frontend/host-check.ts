// The Host check that keeps web pages out of a local nimbus. On loopback
// without an API key, anything that reaches the port may deploy code, and a
// page the developer visits can reach it too by DNS rebinding (its own name
// first resolves to the attacker, then to 127.0.0.1). The browser still sends
// that name in `Host`, so only loopback names and the configured host pass:
// everything else is 421 before any route runs. A page may also send a blind
// "simple" cross-origin POST (text/plain or a form, no preflight) whose Host is
// localhost itself: its Origin and Sec-Fetch-Site give it away, and outside the
// function routes (web endpoints by design) it is refused as well.
import { isIP } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { NimbusError } from '../shared/errors.ts';
import { sendError } from './http-errors.ts';

/**
 * `host[:port]` where host is a DNS name, an IPv4 address or a bracketed IPv6 address. Only the characters
 * of those: a URL parser would read `127.0.0.1#.evil.example` or `127.0.0.1\\.evil.example` as 127.0.0.1
 * and decode `%6cocalhost` to localhost.
 */
const HOST_HEADER = /^(\[[0-9a-f:.]+\]|[a-z0-9._-]+)(?::\d{1,5})?$/;

/** The host part of a Host header, lower-cased and IP literals normalised (127.1 → 127.0.0.1), or undefined if malformed. */
export function hostOf(header: string): string | undefined {
  const m = HOST_HEADER.exec(header.toLowerCase());
  if (!m?.[1]) return undefined;
  try {
    return new URL(`http://${m[1]}`).hostname;
  } catch {
    return undefined;
  }
}

/** Whether a Host header names this machine's loopback or the configured listening host. */
export function isAllowedHost(header: string, configuredHost: string): boolean {
  const host = hostOf(header);
  if (host === undefined) return false;
  if (host === 'localhost' || host === '[::1]') return true;
  if (isIP(host) === 4 && host.startsWith('127.')) return true;
  const configured = configuredHost.toLowerCase();
  return host === (isIP(configured) === 6 ? `[${configured}]` : configured);
}

export function badHostMessage(configuredHost: string): string {
  return (
    `this nimbus listens on loopback without an API key, so it answers only requests whose Host is localhost, 127.x.x.x, [::1]` +
    ` or ${configuredHost} (any port): other names could be a web page reaching it by DNS rebinding. To serve other names,` +
    ` require an API key (--api-key or NIMBUS_API_KEY) or listen on that address with --host (which requires the key)`
  );
}

/** Why a request comes from a web page of another origin (nothing when it does not), for routes other than /fn/. */
export function crossOriginPage(headers: {
  origin?: string | string[];
  'sec-fetch-site'?: string | string[];
  host?: string;
}): string | undefined {
  const site = headers['sec-fetch-site'];
  if (site === 'cross-site' || site === 'same-site') return `the browser says it is sent by a ${site} page`;
  const origin = headers.origin;
  if (origin === undefined) return undefined;
  if (typeof origin !== 'string' || origin !== `http://${headers.host ?? ''}`)
    return `its Origin is ${JSON.stringify(String(origin).slice(0, 100))}`;
  return undefined;
}

/**
 * Adds the check to a front end's app. A request without Host (HTTP/1.0) passes: browsers always
 * send one, so it cannot come from a rebinding page, and local tools that omit it keep working.
 */
export function requireLoopbackHost(app: FastifyInstance, configuredHost: string): void {
  // Allowed Host values, remembered (bounded) so the warm path pays one Set lookup.
  const seen = new Set<string>();
  const message = badHostMessage(configuredHost);
  app.addHook('onRequest', (request, reply, done) => {
    const page = request.url.startsWith('/fn/') ? undefined : crossOriginPage(request.headers);
    if (page !== undefined) {
      const text = `a cross-origin request from a web page is not answered by a nimbus without an API key (${page}): any site the developer visits could send it. Call the API from a tool, or require a key (--api-key or NIMBUS_API_KEY)`;
      return sendError(reply, new NimbusError('unauthorized', text));
    }
    const header = request.headers.host;
    if (header === undefined || seen.has(header)) return done();
    if (isAllowedHost(header, configuredHost)) {
      if (seen.size < 64) seen.add(header);
      return done();
    }
    sendError(reply, new NimbusError('bad_host', `Host "${header.slice(0, 100)}" is not accepted: ${message}`));
  });
}
