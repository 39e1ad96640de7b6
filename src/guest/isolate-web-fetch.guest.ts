// Request and Response for the isolate runtime: the Fetch API objects a
// Workers-style function receives and returns. Bodies are held as bytes (no
// streams in a bare isolate): string, ArrayBuffer, typed arrays, DataView and
// URLSearchParams are accepted; text(), json(), arrayBuffer(), bytes() read.
import { NimbusTextDecoder, utf8Encode } from './isolate-web-encoding.guest.ts';
import { NimbusURL, NimbusURLSearchParams } from './isolate-web-url.guest.ts';
import { NimbusHeaders, type HeadersInit } from './isolate-web-headers.guest.ts';

type BodyInit = string | ArrayBuffer | ArrayBufferView | NimbusURLSearchParams | null | undefined;

function bodyBytes(body: BodyInit, headers: NimbusHeaders): Uint8Array | null {
  if (body === null || body === undefined) return null;
  const type = (t: string) => void (headers.has('content-type') ? undefined : headers.set('content-type', t));
  if (typeof body === 'string') {
    type('text/plain;charset=UTF-8');
    return utf8Encode(body);
  }
  if (body instanceof NimbusURLSearchParams) {
    type('application/x-www-form-urlencoded;charset=UTF-8');
    return utf8Encode(body.toString());
  }
  if (body instanceof ArrayBuffer) return new Uint8Array(body.slice(0));
  if (ArrayBuffer.isView(body))
    return new Uint8Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength));
  type('text/plain;charset=UTF-8');
  return utf8Encode(String(body));
}

class Body {
  #bytes: Uint8Array | null;
  #used = false;
  readonly headers: NimbusHeaders;

  constructor(body: BodyInit, headers?: HeadersInit) {
    this.headers = new NimbusHeaders(headers);
    this.#bytes = bodyBytes(body, this.headers);
  }
  /** The body's bytes, for clone() and for the runtime; null when there is none. */
  protected peek(): Uint8Array | null {
    return this.#bytes;
  }
  /** The body moved into another object (new Request(request)): this one reads as used. */
  protected transferBody(): void {
    if (this.#bytes !== null) this.#used = true;
  }
  get body(): Uint8Array | null {
    return this.#bytes;
  }
  get bodyUsed(): boolean {
    return this.#used;
  }
  #take(): Uint8Array {
    if (this.#used) throw new TypeError('Body has already been used');
    // No body reads as empty and leaves the object unused (it can be read and cloned again).
    if (this.#bytes === null) return new Uint8Array(0);
    this.#used = true;
    return this.#bytes;
  }
  async arrayBuffer(): Promise<ArrayBuffer> {
    return this.#take().slice().buffer;
  }
  async bytes(): Promise<Uint8Array> {
    return this.#take().slice();
  }
  async text(): Promise<string> {
    return new NimbusTextDecoder().decode(this.#take());
  }
  async json(): Promise<unknown> {
    return JSON.parse(await this.text());
  }
  async formData(): Promise<never> {
    throw new TypeError('formData() is not available in the isolate engine');
  }
  async blob(): Promise<never> {
    throw new TypeError('blob() is not available in the isolate engine; use arrayBuffer() or bytes()');
  }
}

interface RequestInit {
  method?: string;
  headers?: HeadersInit;
  body?: BodyInit;
  redirect?: string;
}

/** Methods upper-cased when given in any case (PATCH is not one: 'patch' stays 'patch', as the Fetch standard says). */
const METHODS = ['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT'];
const FORBIDDEN_METHODS = ['CONNECT', 'TRACE', 'TRACK'];

/** WebIDL's unsigned short, what a status argument becomes: 200.5 is 200, '404' is 404. */
function unsignedShort(value: unknown): number {
  const n = Number(value);
  if (!Number.isFinite(n)) return 0;
  return ((Math.trunc(n) % 65536) + 65536) % 65536;
}

export class NimbusRequest extends Body {
  readonly url: string;
  readonly method: string;
  readonly redirect: string;
  readonly signal = null;

  constructor(input: string | NimbusURL | NimbusRequest, init: RequestInit = {}) {
    const from = input instanceof NimbusRequest ? input : undefined;
    if (from?.bodyUsed) throw new TypeError('Cannot construct a Request from one whose body has been used');
    super(init.body !== undefined ? init.body : (from?.peek() ?? null), init.headers ?? from?.headers);
    const url = new NimbusURL(from ? from.url : String(input));
    if (url.username || url.password)
      throw new TypeError(`Request URL ${url.href} has credentials; send them in an Authorization header instead`);
    this.url = url.href;
    const method = String(init.method ?? from?.method ?? 'GET');
    if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(method)) throw new TypeError(`"${method}" is not a valid HTTP method`);
    if (FORBIDDEN_METHODS.includes(method.toUpperCase())) throw new TypeError(`"${method}" is a forbidden HTTP method`);
    this.method = METHODS.includes(method.toUpperCase()) ? method.toUpperCase() : method;
    this.redirect = String(init.redirect ?? from?.redirect ?? 'follow');
    if (!['follow', 'error', 'manual'].includes(this.redirect))
      throw new TypeError(`Request redirect "${this.redirect}" is not one of follow, error, manual`);
    if ((this.method === 'GET' || this.method === 'HEAD') && this.peek())
      throw new TypeError('Request with GET/HEAD method cannot have body');
    if (from && init.body === undefined) from.transferBody();
  }
  clone(): NimbusRequest {
    if (this.bodyUsed) throw new TypeError('Cannot clone a Request whose body has been used');
    return new NimbusRequest(this.url, {
      method: this.method,
      headers: this.headers,
      body: this.peek(),
      redirect: this.redirect,
    });
  }
}

interface ResponseInit {
  status?: number;
  statusText?: string;
  headers?: HeadersInit;
}

export class NimbusResponse extends Body {
  readonly status: number;
  readonly statusText: string;
  #url = '';
  #redirected = false;
  #type: 'default' | 'basic' | 'error' = 'default';

  constructor(body?: BodyInit, init: ResponseInit = {}) {
    super(body, init.headers);
    this.status = init.status === undefined ? 200 : unsignedShort(init.status);
    if (this.status < 200 || this.status > 599)
      throw new RangeError(`Response status ${this.status} is not in the range 200 to 599`);
    if ([204, 205, 304].includes(this.status) && this.peek())
      throw new TypeError(`Response with status ${this.status} cannot have a body`);
    this.statusText = String(init.statusText ?? '');
    // HTTP's reason-phrase: tab, space, visible ASCII and bytes 0x80-0xFF.
    if (/[^\t\x20-\x7e\x80-\xff]/.test(this.statusText))
      throw new TypeError(`Response statusText ${JSON.stringify(this.statusText)} is not a valid HTTP reason phrase`);
  }
  get ok(): boolean {
    return this.status >= 200 && this.status < 300;
  }
  get url(): string {
    return this.#url;
  }
  get redirected(): boolean {
    return this.#redirected;
  }
  get type(): string {
    return this.#type;
  }
  clone(): NimbusResponse {
    if (this.bodyUsed) throw new TypeError('Cannot clone a Response whose body has been used');
    const copy = new NimbusResponse(this.peek(), {
      status: this.status,
      statusText: this.statusText,
      headers: this.headers,
    });
    NimbusResponse.describe(copy, this.#url, this.#redirected);
    return copy;
  }
  /** Marks a response as fetched from `url` (used by the runtime's fetch). */
  static describe(r: NimbusResponse, url: string, redirected: boolean): void {
    r.#url = url;
    r.#redirected = redirected;
    r.#type = 'basic';
  }
  static json(data: unknown, init: ResponseInit = {}): NimbusResponse {
    const text = JSON.stringify(data);
    if (text === undefined) throw new TypeError('Response.json: the value is not JSON-serializable');
    const headers = new NimbusHeaders(init.headers);
    if (!headers.has('content-type')) headers.set('content-type', 'application/json');
    return new NimbusResponse(text, { ...init, headers });
  }
  static redirect(url: string, given: unknown = 302): NimbusResponse {
    const status = unsignedShort(given);
    if (![301, 302, 303, 307, 308].includes(status)) throw new RangeError(`Invalid redirect status ${status}`);
    return new NimbusResponse(null, { status, headers: { location: new NimbusURL(url).href } });
  }
  static error(): NimbusResponse {
    const r = new NimbusResponse(null, { status: 200 });
    (r as { status: number }).status = 0;
    r.#type = 'error';
    return r;
  }
}
Object.defineProperty(NimbusRequest.prototype, Symbol.toStringTag, { value: 'Request', configurable: true });
Object.defineProperty(NimbusResponse.prototype, Symbol.toStringTag, { value: 'Response', configurable: true });
