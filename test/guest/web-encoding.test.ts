// The isolate's hand-written TextEncoder, TextDecoder, atob and btoa against
// Node's own on the same inputs, in a real isolate: lone surrogates, BOMs,
// every kind of invalid UTF-8, fatal mode, streaming, labels, odd arguments.
import { after, describe, it } from 'node:test';
import { openRealms } from './web-realm.ts';

const realms = await openRealms(after);

const STRINGS = [
  '',
  'abc',
  'é',
  '€',
  '😀',
  'a😀b',
  '\ud800',
  '\udc00',
  '\ud800\ud800',
  'a\udc00b',
  '\udbff\udfff',
  '\udfff\udbff',
  '\u0000',
  '\ufeff',
  '\ufeffa',
  '\u007f\u0080\u07ff\u0800\uffff',
  'x'.repeat(300) + '😀',
  '\ud83d',
  'end\ud83d',
];

// Byte sequences: valid, BOMs, overlongs, surrogates, past U+10FFFF, truncated, stray continuation bytes, invalid leads.
const BYTES = [
  [],
  [0x61, 0x62],
  [0xef, 0xbb, 0xbf],
  [0xef, 0xbb, 0xbf, 0x61],
  [0xef, 0xbb, 0xbf, 0xef, 0xbb, 0xbf, 0x61],
  [0x61, 0xef, 0xbb, 0xbf],
  [0xc0, 0x80],
  [0xc1, 0xbf],
  [0xe0, 0x80, 0x80],
  [0xe0, 0x9f, 0xbf],
  [0xf0, 0x80, 0x80, 0x80],
  [0xf0, 0x8f, 0xbf, 0xbf],
  [0xed, 0xa0, 0x80],
  [0xed, 0xbf, 0xbf],
  [0xed, 0x9f, 0xbf],
  [0xf4, 0x90, 0x80, 0x80],
  [0xf4, 0x8f, 0xbf, 0xbf],
  [0xf5, 0x80, 0x80, 0x80],
  [0xe2, 0x82],
  [0xe2, 0x82, 0x61],
  [0xf0, 0x9f, 0x98],
  [0xf0, 0x9f, 0x98, 0x61],
  [0x80],
  [0xbf, 0x80, 0x61],
  [0xfe],
  [0xff, 0xfe],
  [0xfe, 0xff],
  [0xc2],
  [0xc2, 0xc2, 0xa9],
  [0xe0, 0xa0],
  [0xf1, 0x80, 0x80],
  [0xf8, 0x88, 0x80, 0x80, 0x80],
  [0x00, 0xe2, 0x82, 0xac, 0x00],
];

describe('isolate encodings agree with Node', () => {
  it('TextEncoder.encode: lone and swapped surrogates, BOM, NUL, every UTF-8 length', async () => {
    await realms.agree(`(s) => Array.from(new TextEncoder().encode(s))`, STRINGS);
    await realms.agree(`(v) => Array.from(new TextEncoder().encode(v === null ? undefined : v))`, [null, 123, true]);
    await realms.agree(
      `() => { const e = new TextEncoder(); return [e.encoding, Object.prototype.toString.call(e.encode('a')), e.encode().length]; }`,
      [null],
    );
  });

  it('TextEncoder.encodeInto: partial writes stop before a character that does not fit', async () => {
    const CASES = STRINGS.flatMap((s) => [0, 1, 2, 3, 4, 5].map((size) => [s, size]));
    await realms.agree(
      `([s, size]) => { const dest = new Uint8Array(size + 2).subarray(1, size + 1); const r = new TextEncoder().encodeInto(s, dest); return [r.read, r.written, Array.from(dest)]; }`,
      CASES,
    );
  });

  it('TextDecoder.decode: replacement, fatal and ignoreBOM on every sequence', async () => {
    const CASES = BYTES.flatMap((bytes) => [
      [bytes, {}],
      [bytes, { fatal: true }],
      [bytes, { ignoreBOM: true }],
    ]);
    await realms.agree(
      `([bytes, options]) => { const d = new TextDecoder('utf-8', options); return [d.decode(new Uint8Array(bytes)), d.fatal, d.ignoreBOM]; }`,
      CASES,
    );
  });

  it('TextDecoder.decode with stream: sequences and BOMs split across chunks, flushed at the end', async () => {
    const CHUNKS = [
      [[0xe2], [0x82], [0xac]],
      [
        [0xef, 0xbb],
        [0xbf, 0x61],
      ],
      [[0xef], [0xbb], [0xbf], [0xef, 0xbb, 0xbf]],
      [[0xf0, 0x9f], []],
      [
        [0xf0, 0x9f],
        [0x98, 0x80, 0xf0],
      ],
      [[0xe2, 0x82], [0x61]],
      [[0x61], [0xef, 0xbb, 0xbf]],
      [[], [0xef, 0xbb, 0xbf, 0x62]],
      [[0xed], [0xa0, 0x80]],
      [[0xc2], [0xc2], [0xa9]],
    ];
    const CASES = CHUNKS.flatMap((chunks) => [
      [chunks, {}],
      [chunks, { fatal: true }],
      [chunks, { ignoreBOM: true }],
    ]);
    await realms.agree(
      `([chunks, options]) => { const d = new TextDecoder('utf-8', options); const out = [];
      chunks.forEach((c, i) => { try { out.push(d.decode(new Uint8Array(c), { stream: i < chunks.length - 1 })); } catch (e) { out.push(e.name); } });
      try { out.push(d.decode()); } catch (e) { out.push(e.name); }
      out.push(d.decode(new Uint8Array([0xef, 0xbb, 0xbf, 0x7a])));
      return out; }`,
      CASES,
    );
  });

  it('TextDecoder: labels, and what it accepts as input', async () => {
    const LABELS = [
      'utf-8',
      'UTF-8',
      'utf8',
      ' utf-8\\n',
      'unicode-1-1-utf-8',
      'unicode11utf8',
      'unicode20utf8',
      'x-unicode20utf8',
      'bogus',
      '',
      'utf-9',
    ];
    await realms.agree(`(label) => new TextDecoder(label.replace('\\\\n', '\\n')).encoding`, LABELS);
    const INPUTS = ['arraybuffer', 'dataview', 'int16', 'sub', 'string', 'number', 'object', 'undefined', 'null'];
    await realms.agree(
      `(kind) => { const bytes = new Uint8Array([0x41, 0x42, 0xc3, 0xa9, 0x43]);
      const input = { arraybuffer: bytes.buffer, dataview: new DataView(bytes.buffer, 1, 3), int16: new Int16Array(bytes.buffer, 0, 2), sub: bytes.subarray(2),
        string: 'AB', number: 7, object: {}, undefined: undefined, null: null }[kind];
      return new TextDecoder().decode(input); }`,
      INPUTS,
    );
    await realms.agree(
      `() => { const d = new TextDecoder(); return [d.encoding, d.fatal, d.ignoreBOM, new TextDecoder(undefined, { fatal: 1 }).fatal]; }`,
      [null],
    );
  });

  it('btoa and atob: forgiving base64, whitespace, padding and the errors', async () => {
    await realms.agree(`(s) => btoa(s)`, ['', 'a', 'ab', 'abc', 'abcd', '\u00ff\u0000', '\u0100', 'é', '😀', null, 12]);
    const B64 = [
      '',
      'YQ==',
      'YQ',
      'YQ=',
      'Y',
      ' Y Q = = ',
      'YQ===',
      '=YQ',
      'Y=Q',
      'YR==',
      '\tYWJj\n',
      'YW\fJj\r',
      'YW\u000bJj',
      'YWJj=',
      'YWI',
      'YWI=',
      '////',
      '-_-_',
      'YQ==YQ==',
      null,
      'undefined',
      'é',
    ];
    await realms.agree(`(s) => Array.from(atob(s), (c) => c.charCodeAt(0))`, B64);
    await realms.agree(
      `(s) => { try { atob(s); return 'ok'; } catch (e) { return [e.name, e instanceof DOMException, e instanceof Error, e.code]; } }`,
      ['=', 'a', '\u0100'],
    );
  });
});
