// Deploy and invoke through the real HTTP API in each handler style, with
// TypeScript, warm reuse, cold/warm headers, env and logs in the record.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.ts';

describe('invoke (embedded, process engine)', () => {
  let t: TestPlatform;
  before(async () => {
    t = await startTestPlatform();
  });
  after(() => t.close());

  it('runs a Lambda-style handler with a context, keeps module state warm, and marks cold/warm', async () => {
    const code = `let calls = 0;
      exports.handler = async (event, context) => {
        calls++;
        console.log('seen', event.name);
        return { hi: event.name, calls, fn: context.functionName, v: context.functionVersion, id: context.awsRequestId,
                 mem: context.memoryLimitInMB, left: context.getRemainingTimeInMillis() > 0, env: process.env.GREETING };
      };`;
    const d = await t.deploy('lambda-style', code, { env: { GREETING: 'bonjour' } });
    assert.equal(d.status, 201, d.text);
    assert.equal(d.json.version, 1);
    assert.match(d.json.artifact.sha256, /^[0-9a-f]{64}$/);
    const first = await t.invoke('lambda-style', { name: 'ada' });
    assert.equal(first.status, 200, first.text);
    assert.equal(first.headers.get('x-nimbus-cold-start'), 'true');
    const id = first.headers.get('x-nimbus-activation-id');
    assert.deepEqual(first.json, {
      hi: 'ada',
      calls: 1,
      fn: 'lambda-style',
      v: '1',
      id,
      mem: '256',
      left: true,
      env: 'bonjour',
    });
    const second = await t.invoke('lambda-style', { name: 'bob' });
    assert.equal(second.headers.get('x-nimbus-cold-start'), 'false');
    assert.equal(second.json.calls, 2);
    const record = await t.request('GET', `/v1/activations/${id}`);
    assert.equal(record.json.status, 'success');
    assert.equal(record.json.cold, true);
    assert.equal(record.json.engine, 'process');
    assert.match(record.json.logs, /seen ada/);
    assert.ok(record.json.initMs >= 0 && record.json.runMs >= 0 && record.json.gbSeconds > 0);
  });

  it('runs a Workers-style fetch handler on /fn routes with the real request, and on invoke', async () => {
    const code = `export default { async fetch(request, env, ctx) {
        const url = new URL(request.url);
        const body = request.method === 'POST' ? await request.text() : '';
        return new Response(JSON.stringify({ method: request.method, path: url.pathname, q: url.searchParams.get('q'), body, secret: env.SECRET, h: request.headers.get('x-test') }),
          { status: 201, headers: { 'content-type': 'application/json', 'x-from-fn': 'yes' } });
      } };`;
    assert.equal((await t.deploy('fetch-style', code, { env: { SECRET: 's3' } })).status, 201);
    const r = await t.fnRequest('POST', '/fn/fetch-style/a/b?q=1', 'raw body', {
      'x-test': 'hdr',
      'content-type': 'text/plain',
    });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.headers.get('x-from-fn'), 'yes');
    assert.ok(r.headers.get('x-nimbus-activation-id'));
    assert.deepEqual(r.json, { method: 'POST', path: '/a/b', q: '1', body: 'raw body', secret: 's3', h: 'hdr' });
    const inv = await t.invoke('fetch-style', { x: 1 });
    assert.equal(inv.status, 201);
    assert.equal(inv.json.method, 'POST');
    assert.equal(inv.json.body, '{"x":1}');
  });

  it('runs an OpenWhisk-style main(params), as an event and as a web action', async () => {
    assert.equal(
      (
        await t.deploy(
          'main-style',
          'function main(params) { return { got: params.a ?? null, method: params.__ow_method ?? null }; } module.exports.main = main;',
        )
      ).status,
      201,
    );
    assert.deepEqual((await t.invoke('main-style', { a: 5 })).json, { got: 5, method: null });
    const web = await t.fnRequest('GET', '/fn/main-style/x?a=7');
    assert.equal(web.status, 200);
    assert.deepEqual(web.json, { got: '7', method: 'get' });
  });

  it('bundles TypeScript and reports the language', async () => {
    const code = `interface In { n: number }
      export const handler = async (e: In): Promise<{ doubled: number }> => ({ doubled: e.n * 2 });`;
    const d = await t.deploy('typed', code, { language: 'typescript' });
    assert.equal(d.status, 201, d.text);
    assert.equal(d.json.config.language, 'typescript');
    assert.deepEqual((await t.invoke('typed', { n: 21 })).json, { doubled: 42 });
    const guessed = await t.deploy('typed-guess', code);
    assert.equal(guessed.json.config.language, 'typescript');
  });

  it('makes a new version on each changed deploy and serves the newest', async () => {
    assert.equal((await t.deploy('versioned', 'exports.handler = () => 1')).json.version, 1);
    assert.equal((await t.invoke('versioned')).json, 1);
    const v2 = await t.deploy('versioned', 'exports.handler = () => 2');
    assert.equal(v2.status, 200);
    assert.equal(v2.json.version, 2);
    assert.equal((await t.invoke('versioned')).json, 2);
    assert.equal(
      (await t.deploy('versioned', 'exports.handler = () => 2')).json.version,
      2,
      'an identical deploy makes no new version',
    );
    const list = await t.request('GET', '/v1/functions');
    assert.ok(
      list.json.functions.some((f: { name: string; version: number }) => f.name === 'versioned' && f.version === 2),
    );
    assert.equal((await t.request('DELETE', '/v1/functions/versioned')).status, 200);
    assert.equal((await t.invoke('versioned')).status, 404);
  });

  it('accepts async invocations with 202 and completes the record', async () => {
    assert.equal(
      (
        await t.deploy(
          'later',
          'exports.handler = async (e) => { console.log("async ran"); return { twice: e.n * 2 }; }',
        )
      ).status,
      201,
    );
    const r = await t.invoke('later', { n: 4 }, '?async=1');
    assert.equal(r.status, 202);
    assert.ok(r.json.activationId);
    const rec = await t.settled(r.json.activationId);
    assert.equal(rec.status, 'success');
    assert.deepEqual(rec.result, { twice: 8 });
    assert.equal(rec.trigger, 'async');
    assert.match(String(rec.logs), /async ran/);
    const viaPrefer = await t.request('POST', '/v1/functions/later/invoke', { n: 1 }, { prefer: 'respond-async' });
    assert.equal(viaPrefer.status, 202);
    const listed = await t.request('GET', '/v1/activations?function=later&limit=10');
    assert.ok(listed.json.activations.length >= 1);
  });

  it('dedupes async invocations with the same Idempotency-Key', async () => {
    assert.equal((await t.deploy('once', 'exports.handler = async () => "ok"')).status, 201);
    const a = await t.request('POST', '/v1/functions/once/invoke?async=1', {}, { 'idempotency-key': 'k-1' });
    const b = await t.request('POST', '/v1/functions/once/invoke?async=1', {}, { 'idempotency-key': 'k-1' });
    assert.equal(a.json.activationId, b.json.activationId);
    assert.equal(b.json.duplicate, true);
  });

  it('keeps minSandboxes warm from deploy on, so the first call is warm', async () => {
    assert.equal(
      (await t.deploy('prewarmed', 'exports.handler = async () => "warm"', { minSandboxes: 1 })).status,
      201,
    );
    const until = Date.now() + 20_000;
    let sandboxes: { functionName: string }[] = [];
    while (Date.now() < until) {
      sandboxes = (await t.request('GET', '/v1/sandboxes')).json.sandboxes.filter(
        (s: { functionName: string }) => s.functionName === 'prewarmed',
      );
      if (sandboxes.length === 1) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(sandboxes.length, 1);
    const r = await t.invoke('prewarmed');
    assert.equal(r.headers.get('x-nimbus-cold-start'), 'false');
  });

  it('exposes health and Prometheus metrics', async () => {
    const h = await t.request('GET', '/healthz');
    assert.equal(h.status, 200);
    const m = await t.request('GET', '/metrics');
    assert.match(
      m.text,
      /nimbus_invocations_total\{function="lambda-style",status="success",cold="true",engine="process"\} 1/,
    );
    assert.match(m.text, /nimbus_invocation_duration_seconds_bucket/);
    assert.match(m.text, /nimbus_sandboxes\{engine="process",state="idle"\}/);
  });
});
