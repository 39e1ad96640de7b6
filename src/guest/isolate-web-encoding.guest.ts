// Web encoding globals for the isolate runtime, in plain JavaScript (a bare V8
// isolate has none): TextEncoder, TextDecoder (UTF-8 only, with streaming and
// `fatal`), atob and btoa, and the DOMException they throw.

/** The legacy numeric codes of the DOMException names that have one (WebIDL's table); 0 for the rest. */
const LEGACY_CODES: Record<string, number> = {
  IndexSizeError: 1,
  HierarchyRequestError: 3,
  WrongDocumentError: 4,
  InvalidCharacterError: 5,
  NoModificationAllowedError: 7,
  NotFoundError: 8,
  NotSupportedError: 9,
  InvalidStateError: 11,
  SyntaxError: 12,
  InvalidModificationError: 13,
  NamespaceError: 14,
  InvalidAccessError: 15,
  TypeMismatchError: 17,
  SecurityError: 18,
  NetworkError: 19,
  AbortError: 20,
  URLMismatchError: 21,
  QuotaExceededError: 22,
  TimeoutError: 23,
  InvalidNodeTypeError: 24,
  DataCloneError: 25,
};

/** WebIDL's constants (INDEX_SIZE_ERR = 1 ... DATA_CLONE_ERR = 25), on the class and its prototype. */
const CONSTANTS = [
  'INDEX_SIZE_ERR',
  'DOMSTRING_SIZE_ERR',
  'HIERARCHY_REQUEST_ERR',
  'WRONG_DOCUMENT_ERR',
  'INVALID_CHARACTER_ERR',
  'NO_DATA_ALLOWED_ERR',
  'NO_MODIFICATION_ALLOWED_ERR',
  'NOT_FOUND_ERR',
  'NOT_SUPPORTED_ERR',
  'INUSE_ATTRIBUTE_ERR',
  'INVALID_STATE_ERR',
  'SYNTAX_ERR',
  'INVALID_MODIFICATION_ERR',
  'NAMESPACE_ERR',
  'INVALID_ACCESS_ERR',
  'VALIDATION_ERR',
  'TYPE_MISMATCH_ERR',
  'SECURITY_ERR',
  'NETWORK_ERR',
  'ABORT_ERR',
  'URL_MISMATCH_ERR',
  'QUOTA_EXCEEDED_ERR',
  'TIMEOUT_ERR',
  'INVALID_NODE_TYPE_ERR',
  'DATA_CLONE_ERR',
];

const names = new WeakMap<object, string>();

export class NimbusDOMException extends Error {
  constructor(message = '', name = 'Error') {
    super(message);
    names.set(this, String(name));
  }
  get code(): number {
    return Object.prototype.hasOwnProperty.call(LEGACY_CODES, this.name) ? (LEGACY_CODES[this.name] as number) : 0;
  }
}
// As in Node and browsers, name is read from the prototype (no own property) and the class is tagged DOMException.
Object.defineProperty(NimbusDOMException.prototype, 'name', {
  get: function (this: object) {
    return names.get(this) ?? 'Error';
  },
  configurable: true,
  enumerable: true,
});
Object.defineProperty(NimbusDOMException.prototype, Symbol.toStringTag, { value: 'DOMException', configurable: true });
CONSTANTS.forEach((key, i) => {
  for (const target of [NimbusDOMException, NimbusDOMException.prototype])
    Object.defineProperty(target, key, { value: i + 1, enumerable: true });
});

/** Encodes a JavaScript string as UTF-8; lone surrogates become U+FFFD. */
export function utf8Encode(text: string): Uint8Array {
  const out = new Uint8Array(text.length * 3);
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdfff) {
      const next = text.charCodeAt(i + 1);
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
        i++;
      } else c = 0xfffd;
    }
    if (c < 0x80) out[n++] = c;
    else if (c < 0x800) ((out[n++] = 0xc0 | (c >> 6)), (out[n++] = 0x80 | (c & 63)));
    else if (c < 0x10000)
      ((out[n++] = 0xe0 | (c >> 12)), (out[n++] = 0x80 | ((c >> 6) & 63)), (out[n++] = 0x80 | (c & 63)));
    else
      ((out[n++] = 0xf0 | (c >> 18)),
        (out[n++] = 0x80 | ((c >> 12) & 63)),
        (out[n++] = 0x80 | ((c >> 6) & 63)),
        (out[n++] = 0x80 | (c & 63)));
  }
  return out.slice(0, n);
}

/** Length in bytes of a sequence starting with `b`, and the valid range of its second byte. */
function lead(b: number): [number, number, number] {
  if (b >= 0xc2 && b <= 0xdf) return [2, 0x80, 0xbf];
  if (b === 0xe0) return [3, 0xa0, 0xbf];
  if (b === 0xed) return [3, 0x80, 0x9f];
  if (b >= 0xe1 && b <= 0xef) return [3, 0x80, 0xbf];
  if (b === 0xf0) return [4, 0x90, 0xbf];
  if (b === 0xf4) return [4, 0x80, 0x8f];
  if (b >= 0xf1 && b <= 0xf3) return [4, 0x80, 0xbf];
  return [0, 0, 0];
}

/**
 * Decodes UTF-8 with the WHATWG replacement rules (one U+FFFD per maximal
 * invalid subpart). Returns the text and how many trailing bytes form an
 * incomplete sequence that a streaming caller should keep for later.
 */
function utf8Decode(bytes: Uint8Array, fatal: boolean, stream: boolean): { text: string; rest: number } {
  const parts: string[] = [];
  let codes: number[] = [];
  const bad = () => {
    if (fatal) throw new TypeError('The encoded data was not valid for encoding utf-8');
    codes.push(0xfffd);
  };
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i] as number;
    if (b < 0x80) {
      codes.push(b);
      i++;
    } else {
      const [len, lo, hi] = lead(b);
      if (len === 0) {
        bad();
        i++;
        continue;
      }
      let cp = b & (len === 2 ? 0x1f : len === 3 ? 0x0f : 0x07);
      let j = 1;
      for (; j < len && i + j < bytes.length; j++) {
        const c = bytes[i + j] as number;
        if (j === 1 ? c < lo || c > hi : c < 0x80 || c > 0xbf) break;
        cp = (cp << 6) | (c & 63);
      }
      if (j === len) codes.push(cp);
      else if (i + j >= bytes.length && stream) return { text: flush(parts, codes), rest: bytes.length - i };
      else bad();
      i += j;
    }
    if (codes.length > 8192) (parts.push(String.fromCodePoint(...codes)), (codes = []));
  }
  return { text: flush(parts, codes), rest: 0 };
}

function flush(parts: string[], codes: number[]): string {
  if (codes.length) parts.push(String.fromCodePoint(...codes));
  return parts.join('');
}

export function toBytes(input: unknown): Uint8Array {
  if (input === undefined) return new Uint8Array(0);
  if (input instanceof Uint8Array) return input;
  if (input instanceof ArrayBuffer) return new Uint8Array(input);
  if (ArrayBuffer.isView(input)) return new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  throw new TypeError('The "input" argument must be an ArrayBuffer or an ArrayBufferView');
}

export class NimbusTextEncoder {
  get encoding(): string {
    return 'utf-8';
  }
  encode(input = ''): Uint8Array {
    return utf8Encode(String(input));
  }
  encodeInto(input: string, dest: Uint8Array): { read: number; written: number } {
    let read = 0;
    let written = 0;
    for (const ch of String(input)) {
      const bytes = utf8Encode(ch);
      if (written + bytes.length > dest.length) break;
      dest.set(bytes, written);
      written += bytes.length;
      read += ch.length;
    }
    return { read, written };
  }
}

const UTF8_LABELS = new Set([
  'utf-8',
  'utf8',
  'unicode-1-1-utf-8',
  'unicode11utf8',
  'unicode20utf8',
  'x-unicode20utf8',
]);

export class NimbusTextDecoder {
  readonly fatal: boolean;
  readonly ignoreBOM: boolean;
  private pending: Uint8Array = new Uint8Array(0);
  private seenStart = false;
  /** The last call passed stream: true, so this one continues it (otherwise it starts afresh). */
  private continuing = false;

  constructor(label = 'utf-8', options: { fatal?: boolean; ignoreBOM?: boolean } = {}) {
    if (!UTF8_LABELS.has(String(label).trim().toLowerCase())) {
      throw new RangeError(`The "${label}" encoding is not supported (the isolate engine decodes utf-8 only)`);
    }
    this.fatal = Boolean(options.fatal);
    this.ignoreBOM = Boolean(options.ignoreBOM);
  }
  get encoding(): string {
    return 'utf-8';
  }
  decode(input?: unknown, options: { stream?: boolean } = {}): string {
    const fresh = toBytes(input);
    if (!this.continuing) this.reset();
    const stream = Boolean(options.stream);
    this.continuing = stream;
    let bytes = fresh;
    if (this.pending.length) {
      bytes = new Uint8Array(this.pending.length + fresh.length);
      bytes.set(this.pending);
      bytes.set(fresh, this.pending.length);
    }
    let decoded: { text: string; rest: number };
    try {
      decoded = utf8Decode(bytes, this.fatal, stream);
    } catch (e) {
      // As Node does: invalid data drops whatever was pending, and the next call starts afresh.
      this.continuing = false;
      throw e;
    }
    this.pending = decoded.rest ? bytes.slice(bytes.length - decoded.rest) : new Uint8Array(0);
    let out = decoded.text;
    if (!this.seenStart && out.length > 0) {
      this.seenStart = true;
      if (!this.ignoreBOM && out.charCodeAt(0) === 0xfeff) out = out.slice(1);
    }
    return out;
  }
  private reset(): void {
    this.pending = new Uint8Array(0);
    this.seenStart = false;
  }
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_INDEX = new Map([...B64].map((c, i) => [c, i]));

export function btoa(data: unknown): string {
  const s = String(data);
  const out: string[] = [];
  for (let i = 0; i < s.length; i += 3) {
    const a = s.charCodeAt(i);
    const b = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
    const c = i + 2 < s.length ? s.charCodeAt(i + 2) : 0;
    if (a > 255 || b > 255 || c > 255) throw new NimbusDOMException('Invalid character', 'InvalidCharacterError');
    const n = (a << 16) | (b << 8) | c;
    out.push(
      B64[n >> 18] as string,
      B64[(n >> 12) & 63] as string,
      i + 1 < s.length ? (B64[(n >> 6) & 63] as string) : '=',
      i + 2 < s.length ? (B64[n & 63] as string) : '=',
    );
  }
  return out.join('');
}

export function atob(data: unknown): string {
  let s = String(data).replace(/[\t\n\f\r ]/g, '');
  if (s.length % 4 === 0) s = s.replace(/==?$/, '');
  if (s.length % 4 === 1 || /[^A-Za-z0-9+/]/.test(s))
    throw new NimbusDOMException('The string to be decoded is not correctly encoded.', 'InvalidCharacterError');
  const out: string[] = [];
  let buffer = 0;
  let bits = 0;
  for (const ch of s) {
    buffer = (buffer << 6) | (B64_INDEX.get(ch) as number);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push(String.fromCharCode((buffer >> bits) & 0xff));
    }
  }
  return out.join('');
}
