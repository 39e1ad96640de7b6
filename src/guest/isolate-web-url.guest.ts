// URL and URLSearchParams for the isolate runtime, on top of the parser in
// isolate-web-url-parse: getters, forgiving setters (an invalid value is
// ignored, as in browsers), and a searchParams object kept in sync with search.
import { utf8Encode } from './isolate-web-encoding.guest.ts';
import {
  parseURL, serializeURL, pathString, parseHost, parsePort, percentEncode, percentDecodeBytes, appendPath, isSpecial, DEFAULT_PORTS, SETS, type UrlRecord,
} from './isolate-web-url-parse.guest.ts';

const formDecode = (s: string) => new TextDecoder().decode(percentDecodeBytes(s.replace(/\+/g, ' ')));

function formEncode(s: string): string {
  let out = '';
  for (const b of utf8Encode(s)) {
    const ch = String.fromCharCode(b);
    if (/[A-Za-z0-9*\-._]/.test(ch)) out += ch;
    else if (b === 0x20) out += '+';
    else out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

export class NimbusURLSearchParams {
  #list: [string, string][] = [];
  #onChange: ((query: string) => void) | undefined;

  constructor(init: unknown = '') {
    if (init instanceof NimbusURLSearchParams) this.#list = init.#list.map(([k, v]) => [k, v]);
    else if (typeof init === 'object' && init !== null && Symbol.iterator in init) {
      for (const pair of init as Iterable<unknown>) {
        const items = [...(pair as Iterable<unknown>)];
        if (items.length !== 2) throw new TypeError('Each query pair must be an iterable [name, value] tuple');
        this.#list.push([String(items[0]), String(items[1])]);
      }
    } else if (typeof init === 'object' && init !== null) {
      for (const [k, v] of Object.entries(init)) this.#list.push([k, String(v)]);
    } else this.#parse(String(init));
  }

  #parse(query: string): void {
    this.#list = [];
    for (const part of query.replace(/^\?/, '').split('&')) {
      if (!part) continue;
      const eq = part.indexOf('=');
      this.#list.push(eq >= 0 ? [formDecode(part.slice(0, eq)), formDecode(part.slice(eq + 1))] : [formDecode(part), '']);
    }
  }

  /** Links this object to a URL: set by the URL, told about every change. */
  static link(params: NimbusURLSearchParams, query: string, onChange: (query: string) => void): void {
    params.#parse(query);
    params.#onChange = onChange;
  }
  static reparse(params: NimbusURLSearchParams, query: string): void {
    params.#parse(query);
  }

  #changed(): void {
    this.#onChange?.(this.toString());
  }
  get size(): number {
    return this.#list.length;
  }
  append(name: string, value: string): void {
    this.#list.push([String(name), String(value)]);
    this.#changed();
  }
  delete(name: string, value?: string): void {
    this.#list = this.#list.filter(([k, v]) => k !== String(name) || (value !== undefined && v !== String(value)));
    this.#changed();
  }
  get(name: string): string | null {
    return this.#list.find(([k]) => k === String(name))?.[1] ?? null;
  }
  getAll(name: string): string[] {
    return this.#list.filter(([k]) => k === String(name)).map(([, v]) => v);
  }
  has(name: string, value?: string): boolean {
    return this.#list.some(([k, v]) => k === String(name) && (value === undefined || v === String(value)));
  }
  set(name: string, value: string): void {
    const at = this.#list.findIndex(([k]) => k === String(name));
    if (at < 0) return this.append(name, value);
    this.#list[at] = [String(name), String(value)];
    this.#list = this.#list.filter(([k], i) => i <= at || k !== String(name));
    this.#changed();
  }
  sort(): void {
    this.#list = this.#list.map((e, i) => [e, i] as const).sort(([a, i], [b, j]) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : i - j)).map(([e]) => e);
    this.#changed();
  }
  forEach(fn: (value: string, name: string, params: this) => void, thisArg?: unknown): void {
    for (const [k, v] of [...this.#list]) fn.call(thisArg, v, k, this);
  }
  *entries(): IterableIterator<[string, string]> {
    for (const [k, v] of this.#list) yield [k, v];
  }
  *keys(): IterableIterator<string> {
    for (const [k] of this.#list) yield k;
  }
  *values(): IterableIterator<string> {
    for (const [, v] of this.#list) yield v;
  }
  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }
  toString(): string {
    return this.#list.map(([k, v]) => `${formEncode(k)}=${formEncode(v)}`).join('&');
  }
}

export class NimbusURL {
  #r: UrlRecord;
  readonly #params = new NimbusURLSearchParams();

  constructor(url: unknown, base?: unknown) {
    const baseRecord = base === undefined ? undefined : parseURL(String(base));
    this.#r = parseURL(String(url), baseRecord);
    NimbusURLSearchParams.link(this.#params, this.#r.query ?? '', (q) => (this.#r.query = q === '' ? null : q));
  }
  static canParse(url: unknown, base?: unknown): boolean {
    try {
      new NimbusURL(url, base);
      return true;
    } catch {
      return false;
    }
  }
  static parse(url: unknown, base?: unknown): NimbusURL | null {
    return NimbusURL.canParse(url, base) ? new NimbusURL(url, base) : null;
  }
  #try(change: (r: UrlRecord) => void): void {
    const next = { ...this.#r, path: Array.isArray(this.#r.path) ? [...this.#r.path] : this.#r.path };
    try {
      change(next);
      this.#r = next;
    } catch {
      /* invalid values are ignored, as browsers do */
    }
  }
  #noAuthority(): boolean {
    return this.#r.host === null || this.#r.host === '' || this.#r.scheme === 'file';
  }

  get href(): string {
    return serializeURL(this.#r);
  }
  set href(v: string) {
    this.#r = parseURL(String(v));
    NimbusURLSearchParams.reparse(this.#params, this.#r.query ?? '');
  }
  get origin(): string {
    const r = this.#r;
    return isSpecial(r.scheme) && r.scheme !== 'file' ? `${r.scheme}://${r.host}${r.port ? `:${r.port}` : ''}` : 'null';
  }
  get protocol(): string {
    return `${this.#r.scheme}:`;
  }
  set protocol(v: string) {
    const m = /^([a-zA-Z][a-zA-Z0-9+.-]*)/.exec(String(v));
    const scheme = m?.[1]?.toLowerCase();
    if (!scheme || isSpecial(scheme) !== isSpecial(this.#r.scheme)) return;
    if (scheme === 'file' && (this.#r.username || this.#r.password || this.#r.port)) return;
    this.#r.scheme = scheme;
    if (this.#r.port === DEFAULT_PORTS[scheme]) this.#r.port = '';
  }
  get username(): string {
    return this.#r.username;
  }
  set username(v: string) {
    if (!this.#noAuthority()) this.#r.username = percentEncode(String(v), SETS.USERINFO);
  }
  get password(): string {
    return this.#r.password;
  }
  set password(v: string) {
    if (!this.#noAuthority()) this.#r.password = percentEncode(String(v), SETS.USERINFO);
  }
  get host(): string {
    return this.#r.host === null ? '' : this.#r.host + (this.#r.port ? `:${this.#r.port}` : '');
  }
  set host(v: string) {
    if (typeof this.#r.path === 'string') return;
    const text = String(v).split(/[/?#\\]/)[0] ?? '';
    const colon = text.lastIndexOf(':');
    const hasPort = colon > text.lastIndexOf(']');
    this.#try((r) => {
      r.host = parseHost(hasPort ? text.slice(0, colon) : text, isSpecial(r.scheme));
      if (hasPort && r.scheme !== 'file') r.port = parsePort(text.slice(colon + 1), r.scheme);
    });
  }
  get hostname(): string {
    return this.#r.host ?? '';
  }
  set hostname(v: string) {
    if (typeof this.#r.path === 'string') return;
    const text = String(v).split(/[/?#\\]/)[0] ?? '';
    this.#try((r) => (r.host = parseHost(text, isSpecial(r.scheme))));
  }
  get port(): string {
    return this.#r.port;
  }
  set port(v: string) {
    if (this.#noAuthority()) return;
    this.#try((r) => (r.port = parsePort(/^\d*/.exec(String(v))?.[0] ?? '', r.scheme)));
  }
  get pathname(): string {
    return pathString(this.#r);
  }
  set pathname(v: string) {
    if (typeof this.#r.path === 'string') return;
    let text = String(v);
    if (isSpecial(this.#r.scheme)) text = text.replace(/\\/g, '/');
    this.#r.path = appendPath([], text.replace(/^\//, ''));
  }
  get search(): string {
    return this.#r.query ? `?${this.#r.query}` : '';
  }
  set search(v: string) {
    const text = String(v).replace(/^\?/, '');
    this.#r.query = text === '' ? null : percentEncode(text, isSpecial(this.#r.scheme) ? SETS.SPECIAL_QUERY : SETS.QUERY);
    NimbusURLSearchParams.reparse(this.#params, this.#r.query ?? '');
  }
  get searchParams(): NimbusURLSearchParams {
    return this.#params;
  }
  get hash(): string {
    return this.#r.fragment ? `#${this.#r.fragment}` : '';
  }
  set hash(v: string) {
    const text = String(v).replace(/^#/, '');
    this.#r.fragment = text === '' ? null : percentEncode(text, SETS.FRAGMENT);
  }
  toString(): string {
    return this.href;
  }
  toJSON(): string {
    return this.href;
  }
}
