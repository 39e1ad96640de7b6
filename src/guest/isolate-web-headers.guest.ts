// Headers for the isolate runtime: case-insensitive names checked against the
// HTTP token grammar, values trimmed, several values of one name combined
// with ", " (except set-cookie, kept apart for getSetCookie), and iteration in
// sorted name order, as the Fetch standard describes.

export type HeadersInit = NimbusHeaders | Record<string, string> | Iterable<readonly [string, string]>;

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

function checkName(name: unknown): string {
  const n = String(name);
  if (!TOKEN.test(n)) throw new TypeError(`Header name "${n}" is not a valid HTTP header name`);
  return n.toLowerCase();
}

function checkValue(value: unknown): string {
  const v = String(value).replace(/^[\t\n\r ]+|[\t\n\r ]+$/g, '');
  if (/[\0\r\n]/.test(v)) throw new TypeError(`Header value ${JSON.stringify(v)} contains a forbidden character`);
  // Values are byte strings: a character past U+00FF cannot be sent (encode it, e.g. percent-encoding or RFC 8187).
  if (/[^\0-\xff]/.test(v))
    throw new TypeError(`Header value ${JSON.stringify(v)} has a character past U+00FF; header values are bytes`);
  return v;
}

export class NimbusHeaders {
  readonly #values = new Map<string, string[]>();

  constructor(init?: HeadersInit) {
    if (init === undefined) return;
    if (init === null) throw new TypeError('Headers init must be an object, an iterable of pairs or Headers, not null');
    if (init instanceof NimbusHeaders) {
      for (const [k, v] of init.#values) this.#values.set(k, [...v]);
    } else if (typeof (init as Iterable<unknown>)[Symbol.iterator] === 'function') {
      for (const pair of init as Iterable<readonly [string, string]>) {
        if (typeof pair !== 'object' || pair === null) throw new TypeError('Each header must be a [name, value] pair');
        const items = [...(pair as Iterable<string>)];
        if (items.length !== 2) throw new TypeError('Each header must be a [name, value] pair');
        this.append(items[0] as string, items[1] as string);
      }
    } else if (typeof init === 'object') {
      for (const [k, v] of Object.entries(init)) this.append(k, v);
    } else throw new TypeError('Headers init must be an object, an iterable of pairs or Headers');
  }

  append(name: string, value: string): void {
    const key = checkName(name);
    const list = this.#values.get(key) ?? [];
    list.push(checkValue(value));
    this.#values.set(key, list);
  }
  set(name: string, value: string): void {
    this.#values.set(checkName(name), [checkValue(value)]);
  }
  delete(name: string): void {
    this.#values.delete(checkName(name));
  }
  get(name: string): string | null {
    return this.#values.get(checkName(name))?.join(', ') ?? null;
  }
  has(name: string): boolean {
    return this.#values.has(checkName(name));
  }
  getSetCookie(): string[] {
    return [...(this.#values.get('set-cookie') ?? [])];
  }
  *entries(): IterableIterator<[string, string]> {
    for (const key of [...this.#values.keys()].sort()) {
      const list = this.#values.get(key) ?? [];
      if (key === 'set-cookie') for (const v of list) yield [key, v];
      else yield [key, list.join(', ')];
    }
  }
  *keys(): IterableIterator<string> {
    for (const [k] of this.entries()) yield k;
  }
  *values(): IterableIterator<string> {
    for (const [, v] of this.entries()) yield v;
  }
  forEach(fn: (value: string, name: string, headers: NimbusHeaders) => void, thisArg?: unknown): void {
    for (const [k, v] of this.entries()) fn.call(thisArg, v, k, this);
  }
  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }
}
Object.defineProperty(NimbusHeaders.prototype, Symbol.toStringTag, { value: 'Headers', configurable: true });
