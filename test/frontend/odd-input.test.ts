// Odd input is answered inside the contract: a status the error mapping
// names and the body {error: {code, message}}, never a 500 or fastify's own
// shape. Deep JSON events, a function's unsendable HTTP answer (CR/LF or
// non-ASCII in a header, a bad header name, status 101), URLs and headers over
// the parser's limits, malformed URLs.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startTestPlatform, toTestResponse, type TestPlatform, type TestResponse } from '../helpers/platform.ts';

function assertNimbusError(r: TestResponse, status: number, code: string, message: RegExp): void {
  assert.equal(r.status, status, r.text);
  assert.deepEqual(Object.keys(r.json ?? {}), ['error'], r.text);
  assert.equal(r.json.error.code, code);
  assert.match(r.json.error.message, message);
}

const activationCount = async (t: TestPlatform): Promise<number> =>
  (await t.request('GET', '/v1/activations?limit=1000')).json.activations.length;

describe('odd input', () => {
  let t: TestPlatform;
  before(async () => {
    t = await startTestPlatform();
    assert.equal((await t.deploy('echo', 'exports.handler = async (e) => e')).status, 201);
  });
  after(() => t.close());

  it('a JSON event nested 100,000 deep is a 400 (sync, async, form body), and nothing is stored', async () => {
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    const before = await activationCount(t);
    for (const [query, type] of [
      ['', 'application/json'],
      ['?async=1', 'application/json'],
      ['', 'application/x-www-form-urlencoded'],
    ]) {
      const r = await t.request('POST', `/v1/functions/echo/invoke${query}`, deep, { 'content-type': type as string });
      assertNimbusError(r, 400, 'bad_request', /nests arrays and objects more than 512 levels deep/);
    }
    const deploy = await t.request('PUT', '/v1/functions/deep', `{"code": ${'['.repeat(100_000)}`, {
      'content-type': 'application/json',
    });
    assertNimbusError(deploy, 400, 'bad_request', /not valid JSON/);
    assert.equal(await activationCount(t), before, 'no activation was stored');
    const fine = '['.repeat(500) + ']'.repeat(500);
    const ok = await t.request('POST', '/v1/functions/echo/invoke', fine, { 'content-type': 'application/json' });
    assert.equal(ok.status, 200, 'an event 500 deep still runs');
    assert.equal(ok.text, fine);
  });

  it('a function answer that cannot be sent as HTTP is a 502 function_error naming the header or status', async () => {
    const cases: [string, string, RegExp][] = [
      [
        'crlf',
        `exports.handler = async () => ({ statusCode: 200, headers: { 'x-a': 'a\\r\\nset-cookie: z=1' }, body: 'x' })`,
        /header "x-a" has a value with CR, LF/,
      ],
      [
        'nonascii',
        `exports.handler = async () => ({ statusCode: 200, headers: { 'x-snow': 'caf\\u00e9 \\u2603' }, body: 'x' })`,
        /header "x-snow" has a value with .*non-ASCII/,
      ],
      [
        'badname',
        `exports.handler = async () => ({ statusCode: 200, headers: { 'x a': 'v' }, body: 'x' })`,
        /header named "x a", which is not a valid header name/,
      ],
      [
        'switching',
        `exports.handler = async () => ({ statusCode: 101, headers: { upgrade: 'websocket' }, body: 'x' })`,
        /status 101, which is not a final HTTP status/,
      ],
      ['early', `exports.handler = async () => ({ statusCode: 103, body: 'x' })`, /status 103/],
      [
        'fetchsnow',
        `export default { fetch: () => new Response('x', { headers: { 'x-snow': '\\u00e9' } }) }`,
        /header "x-snow"/,
      ],
    ];
    for (const [name, code, message] of cases) {
      assert.equal((await t.deploy(name, code)).status, 201, name);
      const r = await t.fnRequest('GET', `/fn/${name}/`);
      assertNimbusError(r, 502, 'function_error', message);
      assert.match(
        r.headers.get('x-nimbus-activation-id') ?? '',
        /^[0-9a-f]{32}$/,
        'the platform headers are still sent',
      );
    }
    // Statuses the guest protocol cannot carry: refused in the sandbox at once, not left to time out.
    for (const status of ['99', '600', '200.5', '1e400', '-0']) {
      const name = `status-${status.replace(/\W/g, '_')}`;
      assert.equal(
        (
          await t.deploy(name, `exports.handler = async () => ({ statusCode: ${status}, body: 'x' })`, {
            timeoutMs: 3000,
          })
        ).status,
        201,
        name,
      );
      assertNimbusError(
        await t.fnRequest('GET', `/fn/${name}/`),
        502,
        'function_error',
        /which is not a final HTTP status; answer with a whole number from 200 to 599/,
      );
    }
    const next = await t.fnRequest('GET', '/fn/echo/still');
    assert.equal(next.status, 200, 'the function origin still answers');
  });

  it('a long URL is a 414, big headers a 431, a malformed URL a 400, on both listeners, in nimbus shape', async () => {
    for (const [base, path] of [
      [t.url, '/v1/functions/'],
      [t.functionsUrl, '/fn/echo/'],
    ] as const) {
      const long = await fetch(`${base}${path}${'a'.repeat(100_000)}`);
      assertNimbusError(await toTestResponse(long), 414, 'uri_too_long', /URL is longer than this server reads/);
      const headers = await fetch(`${base}${path}x`, { headers: { 'x-big': 'b'.repeat(20_000) } });
      assertNimbusError(await toTestResponse(headers), 431, 'headers_too_large', /headers are over/);
    }
    assertNimbusError(
      await t.request('GET', `/v1/functions/${'a'.repeat(300)}`),
      414,
      'uri_too_long',
      /too long for any route/,
    );
    assertNimbusError(
      await t.request('GET', `/v1/activations/${'a'.repeat(300)}`),
      414,
      'uri_too_long',
      /too long for any route/,
    );
    assertNimbusError(
      await t.fnRequest('GET', `/fn/${'a'.repeat(300)}/x`),
      414,
      'uri_too_long',
      /too long for any route/,
    );
    assertNimbusError(await t.request('GET', '/v1/functions/%zz'), 400, 'bad_request', /URL path is not valid/);
    assertNimbusError(await t.fnRequest('GET', '/fn/%zz/'), 400, 'bad_request', /URL path is not valid/);
    assert.equal((await t.request('GET', '/v1/functions')).status, 200, 'the API still answers');
  });

  it('an activation list asked before a time that is not an ISO date-time is a 400; an ISO date pages', async () => {
    for (const before of ['1', '2020', 'tomorrow', '2020-01-01&before=2020-01-01']) {
      assertNimbusError(
        await t.request('GET', `/v1/activations?before=${before}`),
        400,
        'bad_request',
        /before must be an ISO date-time/,
      );
    }
    assert.equal((await t.invoke('echo', { page: 1 })).status, 200);
    const old = await t.request('GET', '/v1/activations?before=2020-01-01');
    assert.deepEqual(old.json, { activations: [] });
    const now = await t.request(
      'GET',
      `/v1/activations?before=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString().replace('Z', '+00:00'))}`,
    );
    assert.ok(now.json.activations.length > 0, now.text);
  });

  it('an HTTP/1.1 request without Host is a 400 in nimbus shape (HTTP/1.0 passes), and a HEAD the parser refuses gets no body', async () => {
    const port = Number(new URL(t.url).port);
    const noHost = await raw(port, 'GET /v1/functions HTTP/1.1\r\nconnection: close\r\n\r\n');
    assert.match(noHost, /^HTTP\/1\.1 400 /);
    assert.match(noHost, /\{"error":\{"code":"bad_request","message":"an HTTP\/1\.1 request needs a Host header/);
    assert.match(await raw(port, 'GET /v1/functions HTTP/1.0\r\n\r\n'), /^HTTP\/1\.1 200 [^]*"functions":/);
    const head = await raw(port, 'HEAD /v1/functions/\xff HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n');
    assert.match(head, /^HTTP\/1\.1 400 [^]*content-length: \d+\r\n[^]*\r\n\r\n$/, 'head and no body');
    const get = await raw(port, 'GET /v1/functions/\xff HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n');
    assert.match(get, /\r\n\r\n\{"error":\{"code":"bad_request","message":"malformed HTTP request/);
  });

  it('an answer given before the body was read waits for the rest of it, so the client gets the answer, not a reset', async () => {
    // Bodies larger than the kernel's socket buffers take in at once (up to 10 MB on loopback), so the
    // client is still writing when the answer comes: a server that closed then would reset the connection.
    const big = await startTestPlatform({ bodyLimitBytes: 64 * 1024 * 1024 });
    try {
      await big.deploy('echo', 'exports.handler = async (e) => e');
      const api = Number(new URL(big.url).port);
      const fn = Number(new URL(big.functionsUrl).port);
      // A GET's body fastify never reads; a foreign Host (421), a malformed URL (400) and a path no route
      // serves (404) are refused before it is.
      for (const [port, head, status] of [
        [api, `GET /v1/functions HTTP/1.1\r\nhost: 127.0.0.1:${api}`, 200],
        [api, 'POST /v1/functions/echo/invoke HTTP/1.1\r\nhost: evil.example', 421],
        [api, `POST /v1/functions/%zz/invoke HTTP/1.1\r\nhost: 127.0.0.1:${api}`, 400],
        [api, `POST /v1/nothing HTTP/1.1\r\nhost: 127.0.0.1:${api}`, 404],
        [fn, `GET /fn/echo/ HTTP/1.1\r\nhost: 127.0.0.1:${fn}`, 200],
      ] as const) {
        const bytes = 24 * 1024 * 1024;
        const answer = await raw(
          port,
          `${head}\r\nconnection: close\r\ncontent-length: ${bytes}\r\n\r\n`,
          Buffer.alloc(bytes, 'a'),
        );
        assert.match(answer, new RegExp(`^HTTP/1\\.1 ${status} `), `${head}: ${answer.slice(0, 200)}`);
      }
    } finally {
      await big.close();
    }
  });
});

/**
 * Sends bytes as they are (latin1) on a new connection, then `body` if given, in the same write (the
 * kernel takes a large one in parts, so the body may still be going out when the answer comes); the
 * whole answer, until the server closes, or the socket's error (EPIPE, ECONNRESET: a reset) with what
 * came before it.
 */
function raw(port: number, request: string, body?: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const bytes = Buffer.from(request, 'latin1');
    const socket = net.connect(port, '127.0.0.1', () => socket.end(body ? Buffer.concat([bytes, body]) : bytes));
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', (e) =>
      reject(new Error(`${e.message} after ${JSON.stringify(Buffer.concat(chunks).toString('latin1').slice(0, 40))}`)),
    );
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
  });
}
