// The isolate's hand-written Headers against Node's on the same inputs, in a
// real isolate: name validation, value normalization and forbidden bytes,
// combining repeated names, set-cookie, iteration order, init forms.
import { after, describe, it } from 'node:test';
import { openRealms } from './web-realm.ts';

const realms = await openRealms(after);

const NAMES = [
  'a',
  'Content-Type',
  'X-Custom_1',
  "!#$%&'*+-.^_`|~",
  '',
  ' a',
  'a b',
  'a:b',
  ':authority',
  'a\n',
  'ü',
  '\u0100',
  'a\u0000',
  '(x)',
  'a/b',
  'a"b',
  '{',
];
const VALUES = [
  'v',
  '',
  '  padded  ',
  '\t\r\n tabs \n\r\t',
  'a\nb',
  'a\rb',
  'a\u0000b',
  'ü',
  '\u0100',
  '😀',
  'a\tb',
  'x\u000bx',
  'x\u007fx',
  ' ',
  'a, b',
  12,
  null,
];

const DUMP = `(h) => [[...h], [...h.keys()], [...h.values()], h.getSetCookie()]`;

describe('isolate Headers agree with Node', () => {
  it('validates names on every method', async () => {
    await realms.agree(
      `(name) => { const out = []; const h = new Headers();
      for (const op of [() => h.append(name, 'v'), () => h.set(name, 'w'), () => h.get(name), () => h.has(name), () => h.delete(name)]) { try { out.push(op() ?? 'ok'); } catch (e) { out.push(e.name); } }
      try { out.push([...new Headers({ [name]: 'r' })]); } catch (e) { out.push(e.name); }
      return out; }`,
      NAMES,
    );
  });

  it('normalizes and refuses values like Node', async () => {
    await realms.agree(
      `(value) => { const h = new Headers(); const out = [];
      try { h.append('x', value); out.push(h.get('x')); } catch (e) { out.push(e.name); }
      try { h.set('y', value); out.push(h.get('y')); } catch (e) { out.push(e.name); }
      try { out.push(new Headers([['z', value]]).get('z')); } catch (e) { out.push(e.name); }
      return out; }`,
      VALUES,
    );
  });

  it('combines repeated names, keeps set-cookie apart, iterates sorted and lower-cased', async () => {
    const OPS = [
      [
        ['append', 'b', '2'],
        ['append', 'A', '1'],
        ['append', 'a', '3'],
      ],
      [
        ['append', 'set-cookie', 'x=1'],
        ['append', 'Set-Cookie', 'y=2, z=3'],
        ['append', 'a', '1'],
      ],
      [
        ['append', 'x', 'first'],
        ['set', 'X', 'second'],
        ['append', 'x', ''],
      ],
      [
        ['append', 'set-cookie', 'a=1'],
        ['set', 'set-cookie', 'b=2'],
        ['delete', 'SET-COOKIE'],
        ['append', 'set-cookie', 'c=3'],
      ],
      [
        ['append', 'c', '1'],
        ['append', 'B', ' 2 '],
        ['delete', 'c'],
        ['append', 'a', 'x'],
        ['append', 'a', 'y, z'],
      ],
      [
        ['append', 'accept', 'a'],
        ['append', 'accept', ''],
        ['append', 'accept', 'b'],
      ],
      [
        ['append', 'z', '1'],
        ['append', 'Z-', '2'],
        ['append', 'z-a', '3'],
        ['append', 'z_', '4'],
      ],
    ];
    await realms.agree(
      `(ops) => { const h = new Headers(); for (const [op, ...args] of ops) h[op](...args); return [(${DUMP})(h), h.get('set-cookie'), h.get('a'), h.has('A')]; }`,
      OPS,
    );
  });

  it('accepts the init forms Node accepts and refuses the rest', async () => {
    const INITS = [
      { a: '1', B: '2' },
      [
        ['a', '1'],
        ['a', '2'],
      ],
      [
        ['set-cookie', '1'],
        ['set-cookie', '2'],
      ],
      [['a', '1', 'extra']],
      [['a']],
      [],
      {},
      'string',
      7,
      true,
      null,
      [['a', 1]],
      ['ab'],
      [[]],
    ];
    await realms.agree(
      `(init) => { const h = init === null ? new Headers(undefined) : new Headers(init); return (${DUMP})(h); }`,
      INITS,
    );
    await realms.agree(
      `(kind) => { const h = kind === 'null' ? new Headers(null) : new Headers(new Headers([['set-cookie', 'a'], ['set-cookie', 'b'], ['x', '1']])); return (${DUMP})(h); }`,
      ['null', 'copy'],
    );
  });

  it('forEach, names and shape like Node', async () => {
    await realms.agree(
      `() => { const h = new Headers([['b', '2'], ['a', '1'], ['set-cookie', 's=1'], ['set-cookie', 's=2']]); const seen = [];
      h.forEach(function (v, k, self) { seen.push([k, v, self === h, this === undefined ? 'undefined' : typeof this]); });
      return [seen, Headers.name, Object.prototype.toString.call(h), typeof h[Symbol.iterator], h.entries().next(), String(Object.keys(h))]; }`,
      [null],
    );
  });
});
