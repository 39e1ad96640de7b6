// The isolate's URL and URLSearchParams (core-js, bundled into the runtime)
// against Node's on the same inputs, in a real isolate; and the runtime leaves
// none of core-js's internals on the global object.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { openRealms } from './web-realm.ts';
import { URL_CASES } from './url-cases.ts';

const realms = await openRealms(after);

const URLS: [string, string?][] = [
  ...URL_CASES,
  ['http://münchen.de/straße'],
  ['http://xn--mnchen-3ya.de/'],
  ['http://EXAMPLE.ｃｏｍ/'],
  ['http://faß.de/'],
  ['http://a.b.c.d.e/'],
  ['http://1.2.3.4.5/'],
  ['http://999999999/'],
  ['http://0300.0250.1.1/'],
  ['http://[::1]:0/'],
  ['http://[1::2::3]/'],
  ['http://h/\ud800'],
  ['http://h/?\udc00#\ud83d'],
  ['https://h/ %20\t\n/'],
  ['  http://h/ trimmed  '],
  ['http://%41.com/'],
  ['http://a%00b/'],
  ["http://h/?a='b'"],
  ["ws://h/?q='b'"],
  ["sc://h/?'b'"],
  ['javascript:alert(1)'],
  ['blob:https://h/uuid'],
  ['http://h/#\u0000\u007f'],
  ['file:///C:/x/../y'],
  ['file:C|/z'],
  ['http://user@/p'],
  ['http://:@h/'],
  ['http://h:/'],
  ['https://h:443/'],
  ['http://h.:80/'],
  ['http://[::1]/'],
  ['', 'http://h/a?b#c'],
  ['.', 'http://h/a/b'],
  ['http://h/a/%2e%2e/b'],
  ['non-spec:/.//p'],
  ['http://h/\u00e9?\u00e9#\u00e9'],
  ['http://xn--/'],
  ['http://a..b/'],
  ['http://☃.net/'],
  ['http://@/'],
];

const READ_URL = `([input, base]) => {
  const u = base === undefined ? new URL(input) : new URL(input, base);
  return [u.href, u.origin, u.protocol, u.username, u.password, u.host, u.hostname, u.port, u.pathname, u.search, u.hash, u.toJSON(), String(u)];
}`;

describe('isolate URL and URLSearchParams agree with Node', () => {
  it('parses and reads back absolute and relative URLs, IDNA and IP hosts included', async () => {
    await realms.agree(READ_URL, URLS);
  });

  it('answers canParse and parse like Node', async () => {
    await realms.agree(`([input, base]) => [URL.canParse(input, base), URL.parse(input, base)?.href ?? null]`, URLS);
  });

  it('applies setters like Node (invalid values ignored)', async () => {
    const SETS = [
      ['http://h/p', 'protocol', 'https'],
      ['http://h/p', 'protocol', 'mailto'],
      ['http://h/p', 'protocol', 'ws:'],
      ['http://h:80/p', 'protocol', 'https'],
      ['http://h/p', 'host', 'other:81'],
      ['http://h/p', 'host', 'bad host'],
      ['http://h/p', 'host', 'münchen.de'],
      ['http://h/p', 'hostname', '[::1]'],
      ['http://h/p', 'port', '8080abc'],
      ['http://h/p', 'port', '99999'],
      ['http://h/p', 'port', ''],
      ['https://h/p', 'port', '443'],
      ['http://h/p', 'pathname', '/a b/../c'],
      ['http://h/p', 'pathname', 'x\\y'],
      ['mailto:a', 'pathname', 'b'],
      ['http://h/p', 'search', '?a b=c'],
      ['http://h/p?x', 'search', ''],
      ['http://h/p', 'hash', 'a b'],
      ['http://h/p#x', 'hash', ''],
      ['http://h/p', 'username', 'u s@r'],
      ['http://h/p', 'password', 'p:w'],
      ['file:///p', 'username', 'u'],
      ['http://h/p', 'href', 'https://other/'],
      ['http://h/p', 'href', 'not a url'],
    ];
    await realms.agree(`([url, key, value]) => { const u = new URL(url); u[key] = value; return u.href; }`, SETS);
  });

  it('parses, edits and serializes URLSearchParams like Node', async () => {
    const QUERIES = [
      '',
      '?',
      'a=1&b=2&a=3',
      '?a=b=c',
      'a+b=c+d',
      'sp=a+b%20c',
      '%zz=%',
      '=x&y=',
      '&&a&&',
      'é=ü&%C3%A9=1',
      'a=%F0%9F%98%80',
      'a=%ED%A0%80',
      '\ud800=\udc00',
    ];
    await realms.agree(
      `(q) => { const p = new URLSearchParams(q); p.append('added', 'a b&c=d~*\\'()!'); p.sort(); return [p.toString(), [...p], p.size, p.get('a'), p.getAll('a'), p.has('a', '3')]; }`,
      QUERIES,
    );
    const INITS = [
      [
        ['a', '1'],
        ['b', '2'],
      ],
      { x: 'y', z: '1' },
      [['only']],
      [['a', 'b', 'c']],
      'plain',
      ['ab'],
      [['\ud800', '\udc00x']],
      { '\ud800': '\udfff', 'a\ufffd': 1 },
      null,
      7,
    ];
    await realms.agree(`(init) => String(new URLSearchParams(init))`, INITS);
    await realms.agree(
      `(args) => { const p = new URLSearchParams(); p.append(...args); p.set(args[0] + 's', args[1]); return [p.toString(), p.get(args[0]), p.has(args[0], args[1]), p.getAll(args[0] + 's')]; }`,
      [
        ['a', '\udc00'],
        ['\ud800b', 'c'],
        ['x', null],
        ['y', 5],
      ],
    );
    const CLASS = `() => { class Sub extends URLSearchParams {} const s = new Sub('a=1'); const u = new URL('http://h/?x=1');
      let bare; try { URLSearchParams('a'); } catch (e) { bare = e.name; }
      return [u.searchParams instanceof URLSearchParams, URLSearchParams.prototype.constructor === URLSearchParams, URLSearchParams.name, URL.name, URLSearchParams.length, URLSearchParams.prototype.append.name, URLSearchParams.prototype.append.length,
        s instanceof Sub, s instanceof URLSearchParams, s.get('a'), bare, Object.prototype.toString.call(s), new URLSearchParams(u.searchParams).toString()]; }`;
    await realms.agree(CLASS, [null]);
    await realms.agree(
      `(q) => { const u = new URL('http://h/p?' + q); u.searchParams.delete('a'); u.searchParams.set('b', 'x y'); return [u.href, u.search]; }`,
      QUERIES,
    );
  });

  it('leaves none of core-js on the global object and keeps URL state out of reach', async () => {
    const probe = `() => { new URL('http://h/'); new URLSearchParams('a=1');
      return [Object.getOwnPropertyNames(globalThis).filter((n) => /core-js|__core/i.test(n)), typeof globalThis['__core-js_shared__'], Object.prototype.toString.call(new URL('http://h/'))]; }`;
    assert.deepEqual(await realms.isolate(probe, [null]), [{ value: [[], 'undefined', '[object URL]'] }]);
  });
});
