// GET /v1/logs scoped to the caller's namespace: a follower in one namespace
// never sees another namespace's lines, even of a function with the same name;
// another namespace's function is a 404 (followed or not); a key without
// `read` is a 403; bad input is a 400; past the followers one front end
// serves, a 429 with Retry-After, and a place frees when a follower goes.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.ts';
import { MAX_LOG_FOLLOWERS } from '../../src/frontend/routes/logs.ts';
import { follow, type Following } from './follow.ts';

const SAYS = (text: string) => `exports.handler = async () => { console.log(${JSON.stringify(text)}); return 1; };`;
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

describe('live logs: scope, input, limits', () => {
  let t: TestPlatform;
  const keys: Record<string, string> = {};
  before(async () => {
    t = await startTestPlatform();
    for (const ns of ['team-a', 'team-b']) {
      assert.equal((await t.request('POST', '/v1/namespaces', { name: ns })).status, 201);
      for (const role of ['reader', 'invoker', 'developer']) {
        const k = await t.request('POST', '/v1/keys', { namespace: ns, role });
        assert.equal(k.status, 201, k.text);
        keys[`${ns}:${role}`] = k.json.key;
      }
    }
    // The same name in both namespaces, each saying whose it is.
    for (const ns of ['team-a', 'team-b']) {
      const r = await t.request(
        'PUT',
        '/v1/functions/shared',
        { runtime: 'nodejs', code: SAYS(`secret of ${ns}`) },
        bearer(keys[`${ns}:developer`]!),
      );
      assert.equal(r.status, 201, r.text);
    }
    const only = await t.request(
      'PUT',
      '/v1/functions/only-a',
      { runtime: 'nodejs', code: SAYS('only a') },
      bearer(keys['team-a:developer']!),
    );
    assert.equal(only.status, 201, only.text);
  });
  after(() => t.close());

  it("a follower sees only its own namespace's lines; another namespace's function is a 404", async () => {
    const a = await follow(t.url, 'shared', bearer(keys['team-a:reader']!));
    const b = await follow(t.url, 'shared', bearer(keys['team-b:reader']!));
    try {
      assert.equal(a.status, 200);
      assert.equal(b.status, 200);
      const ra = await t.invoke('shared', {}, '');
      assert.equal(ra.status, 404, 'default has no function shared');
      const inA = await t.request('POST', '/v1/functions/shared/invoke', {}, bearer(keys['team-a:invoker']!));
      assert.equal(inA.status, 200, inA.text);
      await a.waitFor("A's line", (e) => e.length === 1);
      assert.equal(a.events[0]?.line, 'secret of team-a');
      assert.equal(a.events[0]?.activationId, inA.headers.get('x-nimbus-activation-id'));
      const inB = await t.request('POST', '/v1/functions/shared/invoke', {}, bearer(keys['team-b:invoker']!));
      assert.equal(inB.status, 200, inB.text);
      await b.waitFor("B's line", (e) => e.length === 1);
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual(
        b.events.map((e) => e.line),
        ['secret of team-b'],
      );
      assert.deepEqual(
        a.events.map((e) => e.line),
        ['secret of team-a'],
      );
    } finally {
      a.close();
      b.close();
    }
    for (const query of ['&follow=1', '']) {
      const r = await t.request('GET', `/v1/logs?function=only-a${query}`, undefined, bearer(keys['team-b:reader']!));
      assert.equal(r.status, 404, query);
      assert.equal(r.json.error.code, 'not_found');
      assert.doesNotMatch(r.text, /only a/);
    }
    // The recent lines come from the caller's namespace's records only.
    const recentB = await t.request('GET', '/v1/logs?function=shared', undefined, bearer(keys['team-b:reader']!));
    assert.deepEqual(
      recentB.json.lines.map((l: { line: string }) => l.line),
      ['secret of team-b'],
    );
    // Root names the namespace with x-nimbus-namespace.
    const root = await t.request('GET', '/v1/logs?function=only-a', undefined, { 'x-nimbus-namespace': 'team-a' });
    assert.equal(root.status, 200);
  });

  it('a key without read is a 403', async () => {
    const r = await t.request('GET', '/v1/logs?function=shared&follow=1', undefined, bearer(keys['team-a:invoker']!));
    assert.equal(r.status, 403);
    assert.equal(r.json.error.code, 'forbidden');
  });

  it('refuses bad input with 400 naming what to send', async () => {
    const h = { 'x-nimbus-namespace': 'team-a' };
    for (const [query, pattern] of [
      ['', /function=<name>/],
      ['?function=', /function=<name>/],
      ['?function=9bad', /invalid function name/],
      ['?function=only-a&follow=2', /follow must be/],
      ['?function=only-a&limit=0', /limit must be/],
      ['?function=only-a&limit=1001', /limit must be/],
    ] as const) {
      const r = await t.request('GET', `/v1/logs${query}`, undefined, h);
      assert.equal(r.status, 400, query);
      assert.match(r.json.error.message, pattern, query);
    }
  });

  it(`serves at most ${MAX_LOG_FOLLOWERS} followers at once: the next gets 429 with Retry-After`, async () => {
    const h = { 'x-nimbus-namespace': 'team-a' };
    const open: Following[] = [];
    try {
      for (let i = 0; i < MAX_LOG_FOLLOWERS; i++) {
        const f = await follow(t.url, 'only-a', h);
        open.push(f);
        assert.equal(f.status, 200, `follower ${i}`);
      }
      const over = await follow(t.url, 'only-a', h);
      assert.equal(over.status, 429);
      assert.equal((over.body as { error: { code: string } }).error.code, 'throttled');
      assert.equal(over.headers.get('retry-after'), '5');
      open.pop()?.close();
      // The front end notices the client went, and its place is free again.
      const until = Date.now() + 10_000;
      let again = await follow(t.url, 'only-a', h);
      while (again.status === 429 && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 50));
        again = await follow(t.url, 'only-a', h);
      }
      open.push(again);
      assert.equal(again.status, 200);
      // Every follower hears a call.
      const r = await t.request('POST', '/v1/functions/only-a/invoke', {}, h);
      assert.equal(r.status, 200);
      await Promise.all(open.map((f) => f.waitFor('the line', (e) => e.length === 1)));
    } finally {
      for (const f of open) f.close();
    }
  });

  it('a platform stopping ends its followers streams instead of waiting for them', async () => {
    const other = await startTestPlatform();
    assert.equal((await other.deploy('quiet', SAYS('hi'))).status, 201);
    const f = await follow(other.url, 'quiet');
    assert.equal(f.status, 200);
    const started = Date.now();
    await other.close();
    assert.ok(Date.now() - started < 5000, `close took ${Date.now() - started} ms`);
    const until = Date.now() + 2000;
    while (!f.ended && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    assert.ok(f.ended, 'the follower saw its stream end');
    assert.deepEqual(f.comments, ['following quiet']);
  });
});
