// The function origin in namespaces: /fn/:name/* is in the caller's namespace,
// /fn/~ns/:name/* names it in the path (a browser sends no header); a key may
// name only its own namespace there, anything else is a 404 like an unknown function.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.ts';

const ECHO = `export default { fetch: (req) => Response.json({ url: new URL(req.url).pathname, prefix: req.headers.get('x-forwarded-prefix') }) };`;

describe('function origin and namespaces', () => {
  let t: TestPlatform;
  let key = '';
  let other = '';
  before(async () => {
    t = await startTestPlatform();
    for (const ns of ['team-a', 'team-b']) await t.request('POST', '/v1/namespaces', { name: ns });
    key = (await t.request('POST', '/v1/keys', { namespace: 'team-a', role: 'invoker' })).json.key;
    other = (await t.request('POST', '/v1/keys', { namespace: 'team-b', role: 'admin' })).json.key;
    const r = await t.request(
      'PUT',
      '/v1/functions/echo',
      { runtime: 'nodejs', code: ECHO },
      { 'x-nimbus-namespace': 'team-a' },
    );
    assert.equal(r.status, 201, r.text);
  });
  after(() => t.close());

  it('reaches a namespace named in the path, as root on loopback', async () => {
    const r = await t.fnRequest('GET', '/fn/~team-a/echo/some/path?x=1');
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { url: '/some/path', prefix: '/fn/~team-a/echo' });
    assert.equal((await t.fnRequest('GET', '/fn/echo/some/path')).status, 404, 'default has no echo');
    assert.equal((await t.fnRequest('GET', '/fn/~nope/echo')).status, 404);
    assert.equal((await t.fnRequest('GET', '/fn/~team-a')).status, 404);
    assert.equal((await t.fnRequest('GET', '/fn/~Bad!/echo')).status, 400);
  });

  it("serves a key its own namespace's functions, and no other's", async () => {
    const auth = { authorization: `Bearer ${key}` };
    assert.deepEqual((await t.fnRequest('GET', '/fn/echo/x', undefined, auth)).json, { url: '/x', prefix: '/fn/echo' });
    assert.equal((await t.fnRequest('GET', '/fn/~team-a/echo/x', undefined, auth)).status, 200);
    const b = { authorization: `Bearer ${other}` };
    assert.equal((await t.fnRequest('GET', '/fn/~team-a/echo/x', undefined, b)).status, 404);
    assert.equal((await t.fnRequest('GET', '/fn/echo/x', undefined, b)).status, 404);
    assert.equal((await t.fnRequest('GET', '/fn/~team-a/echo%3A1/x', undefined, auth)).status, 200);
  });
});
