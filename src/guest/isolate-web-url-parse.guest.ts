// A compact WHATWG-style URL parser for the isolate runtime (V8 has no URL):
// special schemes (http, https, ws, wss, ftp, file) with authority, IPv4 and
// IPv6 hosts, default ports, dot segments and percent-encoding; other schemes
// with opaque paths or hosts; relative references against a base. Not done:
// IDNA (non-ASCII host names are rejected) and Windows drive-letter quirks.
import { utf8Encode } from './isolate-web-encoding.guest.ts';
import { parseIPv4, parseIPv6, looksIPv4 } from './isolate-web-url-host.guest.ts';

export interface UrlRecord {
  scheme: string;
  username: string;
  password: string;
  host: string | null;
  port: string;
  /** Segments of a hierarchical path, or the whole opaque path (e.g. mailto:x). */
  path: string[] | string;
  query: string | null;
  fragment: string | null;
}

export const DEFAULT_PORTS: Record<string, string> = { ftp: '21', file: '', http: '80', https: '443', ws: '80', wss: '443' };
export const isSpecial = (scheme: string): boolean => Object.prototype.hasOwnProperty.call(DEFAULT_PORTS, scheme);

const C0 = (c: number) => c < 0x20 || c > 0x7e;
const FRAGMENT = (c: number) => C0(c) || ' "<>`'.includes(String.fromCharCode(c));
const QUERY = (c: number) => C0(c) || ' "#<>'.includes(String.fromCharCode(c));
const SPECIAL_QUERY = (c: number) => QUERY(c) || c === 0x27;
const PATH = (c: number) => QUERY(c) || '?`{}'.includes(String.fromCharCode(c));
const USERINFO = (c: number) => PATH(c) || '/:;=@[\\]^|'.includes(String.fromCharCode(c));
export const SETS = { C0, FRAGMENT, QUERY, SPECIAL_QUERY, PATH, USERINFO };

export function percentEncode(text: string, inSet: (c: number) => boolean): string {
  let out = '';
  for (const ch of text) {
    const c = ch.codePointAt(0) as number;
    if (!inSet(c)) out += ch;
    else for (const b of utf8Encode(ch)) out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

export function percentDecodeBytes(text: string): Uint8Array {
  const bytes = utf8Encode(text);
  const out = new Uint8Array(bytes.length);
  let n = 0;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i] as number;
    const hex = b === 0x25 ? String.fromCharCode(bytes[i + 1] ?? 0, bytes[i + 2] ?? 0) : '';
    if (hex && /^[0-9a-fA-F]{2}$/.test(hex)) {
      out[n++] = parseInt(hex, 16);
      i += 2;
    } else out[n++] = b;
  }
  return out.slice(0, n);
}

function invalid(input: string, why = ''): TypeError {
  return new TypeError(`Invalid URL: ${JSON.stringify(input)}${why ? ` (${why})` : ''}`);
}

/** Parses a host; special schemes get domain rules (lower case, IPv4), others an opaque host. */
export function parseHost(input: string, special: boolean): string {
  if (input.startsWith('[')) {
    if (!input.endsWith(']')) throw invalid(input, 'unclosed IPv6 address');
    return `[${parseIPv6(input.slice(1, -1))}]`;
  }
  if (!special) {
    if (/[\u0000\t\n\r #/:<>?@[\\\]^|]/.test(input)) throw invalid(input, 'forbidden host code point');
    return percentEncode(input, C0);
  }
  const domain = new TextDecoder().decode(percentDecodeBytes(input)).toLowerCase();
  if (domain === '') throw invalid(input, 'empty host');
  if (/[^\u0000-\u007f]/.test(domain)) throw invalid(input, 'internationalized domain names are not supported in the isolate engine; use punycode');
  if (/[\u0000-\u0020#%/:<>?@[\\\]^|\u007f]/.test(domain)) throw invalid(input, 'forbidden domain code point');
  return looksIPv4(domain) ? parseIPv4(domain) : domain;
}

export function parsePort(input: string, scheme: string): string {
  if (input === '') return '';
  if (!/^\d+$/.test(input)) throw invalid(input, 'bad port');
  const n = Number(input);
  if (n > 65535) throw invalid(input, 'port out of range');
  return String(n) === DEFAULT_PORTS[scheme] ? '' : String(n);
}

const isDot = (s: string) => s === '.' || s.toLowerCase() === '%2e';
const isDotDot = (s: string) => ['..', '.%2e', '%2e.', '%2e%2e'].includes(s.toLowerCase());

/** Appends `input` (slash-separated, no leading slash) to `segments`, resolving dot segments. */
export function appendPath(segments: string[], input: string): string[] {
  const out = [...segments];
  const parts = input.split('/');
  parts.forEach((part, i) => {
    const last = i === parts.length - 1;
    if (isDotDot(part)) {
      out.pop();
      if (last) out.push('');
    } else if (isDot(part)) {
      if (last) out.push('');
    } else out.push(percentEncode(part, PATH));
  });
  return out;
}

function splitAuthority(r: UrlRecord, authority: string, input: string): void {
  const at = authority.lastIndexOf('@');
  if (at >= 0) {
    const info = authority.slice(0, at);
    const colon = info.indexOf(':');
    r.username = percentEncode(colon >= 0 ? info.slice(0, colon) : info, USERINFO);
    r.password = colon >= 0 ? percentEncode(info.slice(colon + 1), USERINFO) : '';
  }
  const hostPort = authority.slice(at + 1);
  const colon = hostPort.lastIndexOf(':');
  const hasPort = colon >= 0 && colon > hostPort.lastIndexOf(']');
  const special = isSpecial(r.scheme);
  const host = hasPort ? hostPort.slice(0, colon) : hostPort;
  if (r.scheme === 'file') r.host = host === '' || host.toLowerCase() === 'localhost' ? '' : parseHost(host, true);
  else if (host === '' && (special || at >= 0 || hasPort)) throw invalid(input, 'empty host');
  else r.host = parseHost(host, special);
  r.port = hasPort ? parsePort(hostPort.slice(colon + 1), r.scheme) : '';
}

/** Parses `input` against an optional base record; throws TypeError like the URL constructor. */
export function parseURL(rawInput: string, base?: UrlRecord): UrlRecord {
  const input = rawInput.replace(/^[\u0000-\u0020]+|[\u0000-\u0020]+$/g, '').replace(/[\t\n\r]/g, '');
  let rest = input;
  let fragment: string | null = null;
  let query: string | null = null;
  const hashAt = rest.indexOf('#');
  if (hashAt >= 0) (fragment = percentEncode(rest.slice(hashAt + 1), FRAGMENT)), (rest = rest.slice(0, hashAt));
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(rest);
  const scheme = m ? (m[1] as string).toLowerCase() : base?.scheme;
  if (scheme === undefined || !base && !m) throw invalid(rawInput, 'no scheme and no base');
  if (m) rest = rest.slice(m[0].length);
  const special = isSpecial(scheme);
  const opaqueCandidate = !special && !rest.startsWith('/');
  const queryAt = rest.indexOf('?');
  if (queryAt >= 0) (query = rest.slice(queryAt + 1)), (rest = rest.slice(0, queryAt));
  if (query !== null) query = percentEncode(query, special ? SPECIAL_QUERY : QUERY);
  if (special) rest = rest.replace(/\\/g, '/');
  const r: UrlRecord = { scheme, username: '', password: '', host: null, port: '', path: [], query, fragment };

  const sameBase = base && base.scheme === scheme ? base : undefined;
  if (m && opaqueCandidate) {
    r.path = percentEncode(rest, C0);
    return r;
  }
  if (!m && base && typeof base.path === 'string') {
    if (rest === '' && query === null && fragment !== null) return { ...base, fragment };
    throw invalid(rawInput, 'relative reference to a base with an opaque path');
  }
  const relative = sameBase && (!m || (special && !rest.startsWith('/')));
  if (rest.startsWith('//')) {
    const body = special && scheme !== 'file' ? rest.replace(/^\/+/, '') : rest.slice(2);
    const slash = body.indexOf('/');
    splitAuthority(r, slash >= 0 ? body.slice(0, slash) : body, rawInput);
    r.path = slash >= 0 ? appendPath([], body.slice(slash + 1)) : special ? [''] : [];
    return r;
  }
  if (special && m && !relative && r.scheme !== 'file') {
    return parseURL(`${scheme}://${rest.replace(/^\/*/, '')}${query !== null ? `?${query}` : ''}${fragment !== null ? `#${fragment}` : ''}`);
  }
  if (relative && sameBase) {
    Object.assign(r, { username: sameBase.username, password: sameBase.password, host: sameBase.host, port: sameBase.port });
    const basePath = sameBase.path as string[];
    if (rest === '') {
      r.path = [...basePath];
      if (query === null) r.query = sameBase.query;
    } else if (rest.startsWith('/')) r.path = appendPath([], rest.slice(1));
    else r.path = appendPath(basePath.slice(0, -1), rest);
    return r;
  }
  if (scheme === 'file') r.host = '';
  r.path = rest.startsWith('/') ? appendPath([], rest.slice(1)) : appendPath([], rest);
  if (special && r.path.length === 0) r.path = [''];
  return r;
}

export function pathString(r: UrlRecord): string {
  return typeof r.path === 'string' ? r.path : r.path.map((s) => `/${s}`).join('');
}

export function serializeURL(r: UrlRecord, excludeFragment = false): string {
  let out = `${r.scheme}:`;
  if (r.host !== null) {
    out += '//';
    if (r.username || r.password) out += `${r.username}${r.password ? `:${r.password}` : ''}@`;
    out += r.host + (r.port ? `:${r.port}` : '');
  } else if (Array.isArray(r.path) && r.path.length > 1 && r.path[0] === '') out += '/.';
  out += pathString(r);
  if (r.query !== null) out += `?${r.query}`;
  if (!excludeFragment && r.fragment !== null) out += `#${r.fragment}`;
  return out;
}
