// Function state through the embedded platform: a deployed function counts in
// context.kv; operators read and write the same store over /v1/kv and with
// `nimbus kv`; every bad input is refused with its status and writes nothing;
// a function of the same name in another namespace (x-nimbus-namespace as
// root) has a store of its own and cannot be reached from the default one; the
// state survives a restart of the platform; deleting the function deletes it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.ts';
import { runCli } from '../helpers/cli.ts';

const COUNTER = `export const handler = async (event, context) => ({ n: await context.kv.increment(event.key ?? 'hits') });`;
const TEAM = { 'x-nimbus-namespace': 'team-kv' };

describe('function state on the embedded platform', () => {
  let t: TestPlatform;
  const counts = async (headers: Record<string, string> = {}) =>
    (await t.request('GET', '/v1/kv/counter/hits', undefined, headers)).json?.value;

  before(async () => {
    t = await startTestPlatform();
    assert.equal((await t.request('POST', '/v1/namespaces', { name: 'team-kv' })).status, 201);
    for (const headers of [{}, TEAM]) {
      const r = await t.request(
        'PUT',
        '/v1/functions/counter',
        { runtime: 'nodejs', code: COUNTER, engine: 'isolate', maxSandboxes: 3, concurrency: 4 },
        headers,
      );
      assert.equal(r.status, 201, r.text);
    }
  });
  after(() => t?.close());

  it('counts 30 concurrent calls without losing one', async () => {
    const answers = await Promise.all(Array.from({ length: 30 }, () => t.invoke('counter', {})));
    const seen = answers.map((r) => (assert.equal(r.status, 200, r.text), r.json.n as number)).sort((a, b) => a - b);
    assert.deepEqual(
      seen,
      Array.from({ length: 30 }, (_, i) => i + 1),
    );
    assert.equal(await counts(), 30);
  });

  it("keeps another namespace's function of the same name apart", async () => {
    const r = await t.request('POST', '/v1/functions/counter/invoke', {}, TEAM);
    assert.deepEqual(r.json, { n: 1 });
    assert.equal(await counts(TEAM), 1);
    assert.equal(await counts(), 30);
    const put = await t.request('PUT', '/v1/kv/counter/only-team', { value: 'x' }, TEAM);
    assert.equal(put.status, 200, put.text);
    assert.equal((await t.request('GET', '/v1/kv/counter/only-team')).status, 404);
    assert.deepEqual(
      (await t.request('GET', '/v1/kv/counter', undefined, TEAM)).json.keys.map((k: { key: string }) => k.key),
      ['hits', 'only-team'],
    );
  });

  it('lets operators put, get, list and delete, keys with slashes included', async () => {
    const put = await t.request('PUT', '/v1/kv/counter/config/a%20b/c', { value: { on: true }, ttlSeconds: 60 });
    assert.equal(put.status, 200, put.text);
    assert.equal(put.json.key, 'config/a b/c');
    assert.ok(Date.parse(put.json.expiresAt) > Date.now());
    const got = await t.request('GET', '/v1/kv/counter/config/a%20b/c');
    assert.deepEqual(got.json.value, { on: true });
    const page = await t.request('GET', '/v1/kv/counter?prefix=config/&limit=1');
    assert.deepEqual(
      page.json.keys.map((k: { key: string }) => k.key),
      ['config/a b/c'],
    );
    assert.equal(page.json.cursor, null);
    assert.equal((await t.request('DELETE', '/v1/kv/counter/config/a%20b/c')).status, 200);
    assert.equal((await t.request('DELETE', '/v1/kv/counter/config/a%20b/c')).status, 404);
  });

  it('refuses bad input with the right status and writes nothing', async () => {
    const cases: [string, string, unknown, number, RegExp][] = [
      ['PUT', '/v1/kv/nobody/k', { value: 1 }, 404, /function "nobody" does not exist/],
      ['GET', '/v1/kv/counter/missing', undefined, 404, /no key "missing"/],
      ['PUT', `/v1/kv/counter/${'k'.repeat(513)}`, { value: 1 }, 400, /512-byte limit/],
      ['PUT', '/v1/kv/counter/big', { value: 'x'.repeat(1024 * 1024) }, 413, /1048576-byte limit/],
      ['PUT', '/v1/kv/counter/ttl', { value: 1, ttlSeconds: 0.5 }, 400, /ttlSeconds/],
      ['PUT', '/v1/kv/counter/nov', { ttlSeconds: 5 }, 400, /"value"/],
      ['PUT', '/v1/kv/counter/extra', { value: 1, other: 2 }, 400, /"value"/],
      ['GET', '/v1/kv/counter?limit=5000', undefined, 400, /limit/],
      ['GET', '/v1/kv/counter?cursor=%25%25', undefined, 400, /cursor/],
      ['GET', '/v1/kv/counter?sort=desc', undefined, 400, /unknown query parameter/],
      ['GET', '/v1/kv/counter?prefix=a&prefix=b', undefined, 400, /give prefix once/],
      ['PUT', '/v1/kv/counter/', { value: 1 }, 400, /must not be empty/],
    ];
    for (const [method, p, body, status, message] of cases) {
      const r = await t.request(method, p, body);
      assert.equal(r.status, status, `${method} ${p.slice(0, 60)}: ${r.text.slice(0, 200)}`);
      assert.match(r.json.error.message, message);
    }
    const keys = (await t.request('GET', '/v1/kv/counter')).json.keys.map((k: { key: string }) => k.key);
    assert.deepEqual(keys, ['hits']);
  });

  it('is reached by `nimbus kv`', async () => {
    const env = { NIMBUS_URL: t.url };
    const put = await runCli(['kv', 'put', 'counter', 'greeting', '{"hello":"cli"}', '--ttl', '60'], env);
    assert.equal(put.code, 0, put.stderr);
    assert.match(put.stdout, /stored greeting \(expires /);
    const get = await runCli(['kv', 'get', 'counter', 'greeting'], env);
    assert.deepEqual(JSON.parse(get.stdout), { hello: 'cli' });
    const list = await runCli(['kv', 'list', 'counter', '--prefix', 'gr'], env);
    assert.match(list.stdout, /^greeting\texpires /);
    assert.equal((await runCli(['kv', 'delete', 'counter', 'greeting'], env)).code, 0);
    const gone = await runCli(['kv', 'get', 'counter', 'greeting'], env);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /not_found: no key "greeting"/);
    const bad = await runCli(['kv', 'put', 'counter', 'k', 'not json'], env);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /not JSON/);
  });

  it('survives a restart of the platform, and goes with the function', async () => {
    const dataDir = t.dataDir;
    await t.platform.close();
    t = await startTestPlatform({ dataDir });
    assert.equal(await counts(), 30);
    assert.deepEqual((await t.invoke('counter', {})).json, { n: 31 });
    assert.equal((await t.request('DELETE', '/v1/functions/counter')).status, 200);
    const again = await t.deploy('counter', COUNTER, { engine: 'isolate' });
    assert.equal(again.status, 201, again.text);
    assert.equal((await t.request('GET', '/v1/kv/counter/hits')).status, 404);
    assert.equal(await counts(TEAM), 1, "the other namespace's function keeps its state");
  });
});
