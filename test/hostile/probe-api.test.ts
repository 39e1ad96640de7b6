// The local API as a web page in the developer's browser would attack it
// beyond DNS rebinding (issue 13, probe). A page on any site may send a
// "simple" cross-origin POST (text/plain or a form) without a preflight: the
// Host it sends is the API's own (localhost), so the Host check lets it in,
// and on loopback without a key nothing else stood between it and invoking a
// function with the page's event or pre-warming sandboxes up to the caps. A
// function's own page (another port of localhost: same site, other origin)
// could do the same. Host values that only a URL parser bends into loopback
// are refused too.
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.ts';

/** One request with exactly the headers given (fetch would set Host and Origin its own way). */
function raw(
  base: string,
  method: string,
  p: string,
  headers: Record<string, string>,
  body?: string,
): Promise<{ status: number; text: string }> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: u.hostname, port: u.port, method, path: p, setHost: false, headers }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.setTimeout(30_000, () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end(body);
  });
}

describe('local API against cross-origin pages (no key, loopback)', () => {
  let t: TestPlatform;
  let host = '';
  let fnHost = '';
  before(async () => {
    t = await startTestPlatform();
    host = `localhost:${new URL(t.url).port}`;
    fnHost = `localhost:${new URL(t.functionsUrl).port}`;
    assert.equal((await t.deploy('victim', 'exports.handler = (e) => ({ got: e })')).status, 201);
  });
  after(() => t.close());

  const activations = async (): Promise<number> => {
    const r = await t.request('GET', '/v1/activations?function=victim');
    assert.equal(r.status, 200, r.text);
    const list = (Array.isArray(r.json) ? r.json : (r.json.activations ?? r.json.items)) as { functionName?: string }[];
    return list.filter((a) => a.functionName === 'victim').length;
  };

  it('refuses a simple cross-site POST that would invoke a function or pre-warm sandboxes, and runs nothing', async () => {
    const before = await activations();
    const sandboxes = (await t.request('GET', '/v1/sandboxes')).text;
    const pages: Record<string, string>[] = [
      { origin: 'http://evil.example', 'sec-fetch-site': 'cross-site' },
      { origin: 'null', 'sec-fetch-site': 'cross-site' },
      { origin: `http://${fnHost}`, 'sec-fetch-site': 'same-site' },
      { 'sec-fetch-site': 'cross-site' },
    ];
    for (const page of pages) {
      for (const ct of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
        const r = await raw(
          t.url,
          'POST',
          '/v1/functions/victim/invoke',
          { host, 'content-type': ct, ...page },
          '{"a":1}',
        );
        assert.equal(r.status, 401, `${JSON.stringify(page)} ${ct}: ${r.text}`);
        assert.match(r.text, /cross-origin|web page/);
      }
      const w = await raw(
        t.url,
        'POST',
        '/v1/functions/victim/sandboxes',
        { host, 'content-type': 'text/plain', ...page },
        '{}',
      );
      assert.equal(w.status, 401, `pre-warm ${JSON.stringify(page)}: ${w.text}`);
    }
    assert.equal(await activations(), before, 'no call ran');
    assert.equal(
      (await t.request('GET', '/v1/sandboxes')).text.includes('"state":"ready"'),
      sandboxes.includes('"state":"ready"'),
    );
  });

  it('still answers tools (no Origin), the same origin, and cross-site calls of functions on their own origin', async () => {
    assert.equal(
      (await raw(t.url, 'POST', '/v1/functions/victim/invoke', { host, 'content-type': 'application/json' }, '{"a":1}'))
        .status,
      200,
    );
    assert.equal(
      (
        await raw(
          t.url,
          'POST',
          '/v1/functions/victim/invoke',
          { host, 'content-type': 'application/json', origin: `http://${host}`, 'sec-fetch-site': 'same-origin' },
          '{}',
        )
      ).status,
      200,
    );
    assert.equal(
      (await raw(t.url, 'GET', '/v1/functions', { host, 'sec-fetch-site': 'none' })).status,
      200,
      'typed into the address bar',
    );
    const fn = await raw(
      t.functionsUrl,
      'POST',
      '/fn/victim/x',
      { host: fnHost, 'content-type': 'text/plain', origin: 'http://evil.example', 'sec-fetch-site': 'cross-site' },
      'hi',
    );
    assert.equal(fn.status, 200, fn.text);
  });

  it('refuses Host values that a URL parser would bend into loopback', async () => {
    for (const h of [
      '127.0.0.1#.evil.example',
      '127.0.0.1\\.evil.example',
      '127.0.0.1?.evil.example',
      '%6cocalhost',
      'localhost%00.evil.example',
    ]) {
      const r = await raw(t.url, 'GET', '/v1/functions', { host: h });
      assert.equal(r.status, 421, `${h}: ${r.text}`);
    }
  });
});
