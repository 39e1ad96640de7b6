// The local API as a hostile web page would try it (issue 13, finding 6): on
// loopback without a key only loopback Host names are answered (DNS
// rebinding sends the attacker's name), function routes live on their own
// origin, and a function cannot forge the platform's headers or speak for the API.
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../cluster/nats-server.ts';
import { runCli, serve } from '../helpers/cli.ts';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.ts';

interface Raw {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any;
}

/** One request with exactly the Host header given (fetch would set its own). */
function raw(
  base: string,
  method: string,
  p: string,
  host: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Raw> {
  const u = new URL(base);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: u.hostname,
        port: u.port,
        method,
        path: p,
        setHost: false,
        headers: { host, ...(payload ? { 'content-type': 'application/json' } : {}), ...headers },
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => {
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
      },
    );
    req.setTimeout(30_000, () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end(payload);
  });
}

/** An HTTP/1.0 request without any Host header; returns the status line. */
function withoutHost(base: string, p: string): Promise<string> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const s = connect(Number(u.port), u.hostname, () => s.write(`GET ${p} HTTP/1.0\r\n\r\n`));
    let out = '';
    s.setTimeout(10_000, () => s.destroy(new Error('no answer')));
    s.on('data', (c: Buffer) => (out += c.toString()));
    s.on('end', () => resolve(out.split('\r\n')[0] ?? ''));
    s.on('error', reject);
  });
}

const FORGER = `export default { async fetch(request) {
  return new Response('<script>document.cookie</script>', { status: 200, headers: {
    'content-type': 'text/html', 'set-cookie': 'sid=fn; Path=/', 'x-nimbus-activation-id': 'forged',
    'x-nimbus-cold-start': 'forged', 'x-nimbus-function-version': '999', 'x-nimbus-namespace': 'root', 'x-own': 'kept',
    'keep-alive': 'timeout=999', 'upgrade': 'h2c' } });
} };`;

describe('local API on loopback without a key', () => {
  let t: TestPlatform;
  let port = '';
  let fnPort = '';
  before(async () => {
    t = await startTestPlatform();
    port = new URL(t.url).port;
    fnPort = new URL(t.functionsUrl).port;
  });
  after(() => t.close());

  it('refuses a deploy whose Host is another name (421) and stores nothing', async () => {
    const r = await raw(t.url, 'PUT', '/v1/functions/rebound', 'evil.example', {
      runtime: 'nodejs',
      code: 'exports.handler = () => 1',
    });
    assert.equal(r.status, 421, r.text);
    assert.equal(r.json.error.code, 'bad_host');
    assert.match(r.json.error.message, /evil\.example.*localhost, 127\.x\.x\.x, \[::1\].*--api-key.*--host/s);
    for (const host of [
      `evil.example:${port}`,
      `localhost.evil.example:${port}`,
      `127.0.0.1.nip.io:${port}`,
      'localhost@evil.example',
      `[::2]:${port}`,
    ]) {
      assert.equal((await raw(t.url, 'GET', '/v1/functions', host)).status, 421, host);
    }
    assert.equal((await t.request('GET', '/v1/functions/rebound')).status, 404, 'nothing was stored');
  });

  it('answers loopback names with any port or none', async () => {
    for (const [i, host] of [
      `localhost:${port}`,
      `127.0.0.1:${port}`,
      `[::1]:${port}`,
      'localhost',
      '127.0.0.2:9999',
      `LOCALHOST:${port}`,
    ].entries()) {
      const r = await raw(t.url, 'PUT', `/v1/functions/loop-${i}`, host, {
        runtime: 'nodejs',
        code: 'exports.handler = () => 1',
      });
      assert.equal(r.status, 201, `${host}: ${r.text}`);
      assert.equal(r.headers['x-content-type-options'], 'nosniff');
    }
  });

  it('applies the same rule to /healthz, and lets a request without Host (HTTP/1.0) through', async () => {
    assert.equal((await raw(t.url, 'GET', '/healthz', 'evil.example')).status, 421);
    assert.equal((await raw(t.url, 'GET', '/healthz', `localhost:${port}`)).status, 200);
    assert.match(await withoutHost(t.url, '/healthz'), /^HTTP\/1\.[01] 200/);
  });

  it('does not serve /fn on the API port: a 404 names the function origin', async () => {
    assert.equal((await t.deploy('forger', FORGER)).status, 201);
    const r = await t.request('GET', '/fn/forger/x?y=1');
    assert.equal(r.status, 404, r.text);
    assert.ok(r.json.error.message.includes(`${t.functionsUrl}/fn/forger/x?y=1`), r.json.error.message);
    assert.equal(r.headers.get('set-cookie'), null);
    assert.notEqual(fnPort, port);
  });

  it('serves functions on their own origin, where they may set cookies and HTML but never x-nimbus-* or hop-by-hop headers', async () => {
    const r = await t.fnRequest('GET', '/fn/forger/page');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers.get('content-type'), 'text/html');
    assert.equal(r.headers.get('set-cookie'), 'sid=fn; Path=/');
    assert.equal(r.headers.get('x-own'), 'kept');
    const id = r.headers.get('x-nimbus-activation-id') ?? '';
    assert.match(id, /^[0-9a-f]{32}$/);
    assert.match(r.headers.get('x-nimbus-cold-start') ?? '', /^(true|false)$/);
    assert.equal(r.headers.get('x-nimbus-function-version'), '1');
    assert.equal(r.headers.get('x-nimbus-namespace'), null);
    assert.equal(r.headers.get('upgrade'), null);
    assert.notEqual(r.headers.get('keep-alive'), 'timeout=999');
    assert.equal(
      (await t.request('GET', `/v1/activations/${id}`)).json.functionName,
      'forger',
      'the activation id is the real one',
    );
  });

  it('keeps every API answer JSON: invoking the same function there drops its headers and cookies', async () => {
    const r = await t.invoke('forger');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers.get('content-type'), 'application/json; charset=utf-8');
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(r.headers.get('set-cookie'), null);
    assert.equal(r.headers.get('x-own'), null);
    assert.match(r.headers.get('x-nimbus-activation-id') ?? '', /^[0-9a-f]{32}$/);
    assert.equal(r.json, '<script>document.cookie</script>', 'the HTML body arrives as a JSON string');
  });

  it('the function origin serves no API: /v1, /metrics are 404 and a deploy there stores nothing', async () => {
    for (const p of ['/v1/functions', '/metrics', '/v1/engines']) {
      const r = await t.fnRequest('GET', p);
      assert.equal(r.status, 404, `${p}: ${r.text}`);
      assert.ok(r.json.error.message.includes(t.url), r.json.error.message);
    }
    assert.equal(
      (await t.fnRequest('PUT', '/v1/functions/via-fn', { runtime: 'nodejs', code: 'exports.handler = () => 1' }))
        .status,
      404,
    );
    assert.equal((await t.request('GET', '/v1/functions/via-fn')).status, 404);
    assert.equal((await t.fnRequest('GET', '/healthz')).status, 200);
  });

  it('checks Host on the function origin too', async () => {
    assert.equal((await raw(t.functionsUrl, 'GET', '/fn/forger/x', 'evil.example')).status, 421);
    assert.equal((await raw(t.functionsUrl, 'GET', '/healthz', `evil.example:${fnPort}`)).status, 421);
    const ok = await raw(t.functionsUrl, 'GET', '/fn/forger/x', `localhost:${fnPort}`);
    assert.equal(ok.status, 200);
    assert.equal(ok.headers['x-nimbus-activation-id'] === 'forged', false);
  });
});

describe('local API beyond loopback', () => {
  let t: TestPlatform;
  before(async () => {
    t = await startTestPlatform({ host: '0.0.0.0' });
  });
  after(() => t.close());

  it('keeps requiring the API key on both origins, whatever the Host', async () => {
    const key = { authorization: `Bearer ${t.platform.apiKey?.key}` };
    const api = t.url.replace('0.0.0.0', '127.0.0.1');
    const fn = t.functionsUrl.replace('0.0.0.0', '127.0.0.1');
    assert.equal(
      (
        await raw(
          api,
          'PUT',
          '/v1/functions/keyed',
          'nimbus.example',
          { runtime: 'nodejs', code: 'exports.handler = () => "ok"' },
          key,
        )
      ).status,
      201,
    );
    assert.equal((await raw(fn, 'GET', '/fn/keyed/x', 'nimbus.example')).status, 401);
    const r = await raw(fn, 'GET', '/fn/keyed/x', 'nimbus.example', undefined, key);
    assert.equal(r.status, 200, r.text);
    assert.equal((await raw(fn, 'GET', '/healthz', 'nimbus.example')).status, 200);
  });
});

describe('nimbus serve', () => {
  it('prints both URLs, and --functions-port / NIMBUS_FUNCTIONS_PORT choose the function origin', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'nimbus-serve-'));
    const freeFnPort = String(await freePort());
    const s = await serve(['--data-dir', path.join(dir, 'data')], { NIMBUS_FUNCTIONS_PORT: freeFnPort });
    try {
      const m = /functions are served at (http:\/\/\S+)\/fn\//.exec(s.output());
      assert.ok(m?.[1], s.output());
      const fnUrl = m[1];
      assert.equal(new URL(fnUrl).port, freeFnPort);
      assert.notEqual(fnUrl, s.url);
      assert.equal((await fetch(`${fnUrl}/healthz`)).status, 200);
      const moved = (await (await fetch(`${s.url}/fn/x/y`)).json()) as { error: { message: string } };
      assert.ok(moved.error.message.includes(`${fnUrl}/fn/x/y`), moved.error.message);
    } finally {
      await s.kill();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("refuses a function origin on the API's port or on a port that is not a number, before starting", async () => {
    const same = await runCli(['serve', '--port', '18080', '--functions-port', '18080']);
    assert.equal(same.code, 2);
    assert.match(same.stderr, /--functions-port must differ from --port \(18080\)/);
    const bad = await runCli(['serve', '--port', '18080'], { NIMBUS_FUNCTIONS_PORT: 'eighty' });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--functions-port must be 0-65535, got "eighty"/);
  });
});
