// The isolate's hand-written Request and Response against Node's on the same
// inputs, in a real isolate: methods, URLs, statuses, default content types,
// body reading (once), clone, the static constructors and their errors.
import { after, describe, it } from 'node:test';
import { openRealms } from './web-realm.ts';

const realms = await openRealms(after);

/** Builds a body from a JSON description, in either realm. */
const BODY = `(b) => b === null || b === undefined ? b : typeof b === 'string' ? b : b.bytes ? new Uint8Array(b.bytes) : b.buffer ? new Uint8Array(b.buffer).buffer
  : b.view ? new DataView(new Uint8Array(b.view).buffer, 1, b.view.length - 2) : b.params ? new URLSearchParams(b.params) : b.int16 ? new Int16Array(b.int16) : b.other`;

describe('isolate Request and Response agree with Node', () => {
  it('Request: methods normalized, forbidden and invalid ones refused', async () => {
    const METHODS = [
      'get',
      'GET',
      'post',
      'Put',
      'delete',
      'options',
      'head',
      'patch',
      'PATCH',
      'custom',
      'CONNECT',
      'trace',
      'TRACK',
      'a b',
      '',
      'GET\n',
      'ü',
    ];
    await realms.agree(`(method) => new Request('http://h/', { method }).method`, METHODS);
  });

  it('Request: URLs, bodies on GET and HEAD, redirect modes, init from another Request', async () => {
    const URLS = [
      'http://h/a/../b?q#f',
      'HTTPS://H:443/',
      'http://u:p@h/',
      '/relative',
      'not a url',
      'http://münchen.de/',
      'mailto:x@y',
      'http://h/ä',
    ];
    await realms.agree(`(url) => new Request(url).url`, URLS);
    const INITS = [
      { method: 'GET', body: 'x' },
      { method: 'HEAD', body: '' },
      { method: 'GET', body: null },
      { method: 'POST', body: 'x', redirect: 'manual' },
      { redirect: 'error' },
      { redirect: 'bogus' },
      { method: 'POST', body: { params: 'a=1&b=2' } },
      { method: 'POST', body: { bytes: [1, 2] }, headers: { 'content-type': 'x/y' } },
      {
        headers: [
          ['x', '1'],
          ['x', '2'],
        ],
      },
      { headers: { 'bad name': '1' } },
    ];
    await realms.agree(
      `(init) => { const r = new Request('http://h/', { ...init, body: (${BODY})(init.body) }); return [r.method, r.url, r.redirect, [...r.headers], r.bodyUsed, r.body === null]; }`,
      INITS,
    );
    await realms.agree(
      `async (body) => { const a = new Request('http://h/x', { method: 'POST', body, headers: { x: '1' } }); const b = new Request(a, { headers: { y: '2' } });
      return [b.method, b.url, [...b.headers], await b.text(), a.bodyUsed]; }`,
      ['payload', null],
    );
    await realms.agree(
      `async (body) => { const a = new Request('http://h/x', { method: 'PUT', body, headers: { x: '1' }, redirect: 'manual' }); const c = a.clone();
      const read = await c.text(); let again; try { a.clone(); again = 'cloned'; } catch (e) { again = e.name; }
      return [c.method, c.url, c.redirect, [...c.headers], read, a.bodyUsed, c.bodyUsed, again, await a.text()]; }`,
      ['payload', null, ''],
    );
  });

  it('Response: statuses, statusText, bodies that a null-body status refuses', async () => {
    const INITS = [
      {},
      { status: 201, statusText: 'Created' },
      { status: 199 },
      { status: 600 },
      { status: 0 },
      { status: 200.5 },
      { status: '404' },
      { status: 204 },
      { status: 204, body: 'x' },
      { status: 205, body: '' },
      { status: 304, body: null },
      { statusText: 'bad\n' },
      { statusText: 'ü' },
      { statusText: '\u0100' },
      { headers: null },
      { headers: { a: '1' } },
      { status: 101 },
    ];
    await realms.agree(
      `(init) => { const r = new Response(init.body ?? null, init); return [r.status, r.statusText, r.ok, r.type, r.url, r.redirected, [...r.headers], r.body === null]; }`,
      INITS,
    );
  });

  it('bodies: default content types, bytes out, read once, clone', async () => {
    const BODIES = [
      'text ✓',
      '',
      { bytes: [0xef, 0xbb, 0xbf, 0x68, 0x69] },
      { buffer: [1, 2, 3] },
      { view: [9, 1, 2, 9] },
      { params: 'a=1&b= c' },
      { int16: [258, -1] },
      { other: 42 },
      { other: true },
      null,
    ];
    await realms.agree(
      `async (b) => { const r = new Response((${BODY})(b)); const c = r.clone(); const bytes = Array.from(new Uint8Array(await r.arrayBuffer()));
      let again; try { await r.text(); again = 'read twice'; } catch (e) { again = e.name; }
      let cloneUsed; try { r.clone(); cloneUsed = 'cloned'; } catch (e) { cloneUsed = e.name; }
      return [r.headers.get('content-type'), bytes, r.bodyUsed, again, cloneUsed, await c.text(), Array.from(await new Response((${BODY})(b)).bytes())]; }`,
      BODIES,
    );
    await realms.agree(
      `async (text) => { try { return await new Response(text).json(); } catch (e) { return e.name; } }`,
      ['{"a":[1,2]}', '\ufeff{"bom":1}', '', 'nope', 'null'],
    );
  });

  it('Response.json, Response.redirect and Response.error', async () => {
    const JSONS = [
      [{ a: 1 }],
      [[1, 'x']],
      ['text'],
      [null],
      [{ a: 1 }, { status: 201, headers: { 'content-type': 'application/x+json' } }],
      [{ a: 1 }, { status: 204 }],
    ];
    await realms.agree(
      `async ([data, init]) => { const r = Response.json(data, init); return [r.status, [...r.headers], await r.text()]; }`,
      JSONS,
    );
    await realms.agree(`() => { try { Response.json(undefined); return 'ok'; } catch (e) { return e.name; } }`, [null]);
    const REDIRECTS = [
      ['http://h/a b', 301],
      ['https://h/', undefined],
      ['http://h/', 307],
      ['http://h/', 200],
      ['/relative', 302],
      ['http://h/', '308'],
    ];
    await realms.agree(
      `([url, status]) => { const r = Response.redirect(url, status); return [r.status, r.headers.get('location'), r.body === null, r.type]; }`,
      REDIRECTS,
    );
    await realms.agree(
      `() => { const r = Response.error(); return [r.status, r.type, r.ok, r.statusText, [...r.headers]]; }`,
      [null],
    );
  });

  it('names and shape like Node', async () => {
    await realms.agree(
      `() => [Request.name, Response.name, Object.prototype.toString.call(new Request('http://h/')), Object.prototype.toString.call(new Response()),
      typeof Response.json, typeof Response.prototype.arrayBuffer]`,
      [null],
    );
  });
});
