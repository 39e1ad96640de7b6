// Headers, Request and Response for the isolate engine: the Fetch API objects
// a Workers-style function receives and returns, with bodies held as bytes.
import { NimbusTextDecoder as TextDecoderShim, NimbusTextEncoder as TextEncoderShim } from './isolate-web-encoding.guest.ts';
import { NimbusURLSearchParams as URLSearchParamsShim, NimbusURL as URLShim } from './isolate-web-url.guest.ts';

type HeadersInit = HeadersShim | Record<string, string> | [string, string][];
type BodyInit = string | Uint8Array | ArrayBuffer | URLSearchParamsShim | null | undefined;

export class HeadersShim {
  private readonly map = new Map<string, string>();
  constructor(init?: HeadersInit) {
    if (init instanceof HeadersShim) init.forEach((v, k) => this.set(k, v));
    else if (Array.isArray(init)) for (const [k, v] of init) this.append(k, v);
    else if (init) for (const [k, v] of Object.entries(init)) this.set(k, v);
  }
  get(name: string): string | null {
    return this.map.get(name.toLowerCase()) ?? null;
  }
  set(name: string, value: string): void {
    this.map.set(name.toLowerCase(), String(value));
  }
  append(name: string, value: string): void {
    const cur = this.get(name);
    this.set(name, cur === null ? String(value) : `${cur}, ${value}`);
  }
  has(name: string): boolean {
    return this.map.has(name.toLowerCase());
  }
  delete(name: string): void {
    this.map.delete(name.toLowerCase());
  }
  forEach(fn: (value: string, key: string) => void): void {
    for (const [k, v] of [...this.map].sort(([a], [b]) => a.localeCompare(b))) fn(v, k);
  }
  entries(): IterableIterator<[string, string]> {
    return new Map([...this.map].sort(([a], [b]) => a.localeCompare(b))).entries();
  }
  keys(): IterableIterator<string> {
    return [...this.entries()].map(([k]) => k)[Symbol.iterator]();
  }
  values(): IterableIterator<string> {
    return [...this.entries()].map(([, v]) => v)[Symbol.iterator]();
  }
  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }
}

function toBytes(body: BodyInit, headers: HeadersShim): Uint8Array | null {
  if (body === null || body === undefined) return null;
  if (typeof body === 'string') {
    if (!headers.has('content-type')) headers.set('content-type', 'text/plain;charset=UTF-8');
    return new TextEncoderShim().encode(body);
  }
  if (body instanceof URLSearchParamsShim) {
    if (!headers.has('content-type')) headers.set('content-type', 'application/x-www-form-urlencoded;charset=UTF-8');
    return new TextEncoderShim().encode(body.toString());
  }
  if (body instanceof ArrayBuffer) return new Uint8Array(body.slice(0));
  if (ArrayBuffer.isView(body)) return new Uint8Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength));
  return new TextEncoderShim().encode(String(body));
}

class BodyShim {
  protected bytes: Uint8Array | null;
  bodyUsed = false;
  readonly headers: HeadersShim;
  constructor(body: BodyInit, headers?: HeadersInit) {
    this.headers = new HeadersShim(headers);
    this.bytes = toBytes(body, this.headers);
  }
  get body(): Uint8Array | null {
    return this.bytes;
  }
  private take(): Uint8Array {
    if (this.bodyUsed) throw new TypeError('Body has already been used');
    this.bodyUsed = true;
    return this.bytes ?? new Uint8Array(0);
  }
  async arrayBuffer(): Promise<ArrayBuffer> {
    const b = this.take();
    return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
  }
  async bytesAsync(): Promise<Uint8Array> {
    return this.take();
  }
  async text(): Promise<string> {
    return new TextDecoderShim().decode(this.take());
  }
  async json(): Promise<unknown> {
    return JSON.parse(await this.text());
  }
  async formData(): Promise<never> {
    throw new TypeError('formData() is not available in the isolate engine');
  }
}

export class RequestShim extends BodyShim {
  readonly url: string;
  readonly method: string;
  constructor(input: string | URLShim | RequestShim, init: { method?: string; headers?: HeadersInit; body?: BodyInit } = {}) {
    const from = input instanceof RequestShim ? input : undefined;
    super(init.body ?? (from ? from.bytes : null), init.headers ?? from?.headers);
    this.url = new URLShim(from ? from.url : String(input)).href;
    this.method = (init.method ?? from?.method ?? 'GET').toUpperCase();
    if ((this.method === 'GET' || this.method === 'HEAD') && this.bytes) throw new TypeError('Request with GET/HEAD method cannot have body');
  }
  clone(): RequestShim {
    return new RequestShim(this);
  }
}

export class ResponseShim extends BodyShim {
  readonly status: number;
  readonly statusText: string;
  constructor(body?: BodyInit, init: { status?: number; statusText?: string; headers?: HeadersInit } = {}) {
    super(body, init.headers);
    this.status = init.status ?? 200;
    if (this.status < 200 || this.status > 599) throw new RangeError(`Response status ${this.status} is not in 200-599`);
    this.statusText = init.statusText ?? '';
  }
  get ok(): boolean {
    return this.status >= 200 && this.status < 300;
  }
  clone(): ResponseShim {
    return new ResponseShim(this.bytes, { status: this.status, statusText: this.statusText, headers: this.headers });
  }
  static json(data: unknown, init: { status?: number; headers?: HeadersInit } = {}): ResponseShim {
    const headers = new HeadersShim(init.headers);
    if (!headers.has('content-type')) headers.set('content-type', 'application/json');
    return new ResponseShim(JSON.stringify(data), { ...init, headers });
  }
  static redirect(url: string, status = 302): ResponseShim {
    return new ResponseShim(null, { status, headers: { location: new URLShim(url).href } });
  }
}
