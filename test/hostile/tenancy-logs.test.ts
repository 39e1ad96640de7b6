// Attacks on live logs: a key of B following A's function (by name, encoded,
// or through a function of its own of the same name), and B holding every
// follower place of the front end so that A cannot follow its own function.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MAX_LOG_FOLLOWERS } from '../../src/frontend/routes/logs.ts';
import { follow, type Following } from '../logs/follow.ts';
import { A, B, FN, twoTenants, type Tenants } from './tenancy-fixture.ts';

const LOGS = 'export const handler = async (e) => { console.log("line-of-" + e.who); return 1; };';

describe('hostile tenancy: live logs', () => {
  let x: Tenants;
  before(async () => {
    x = await twoTenants();
    const a = await x.t.request(
      'PUT',
      '/v1/functions/chatty',
      { runtime: 'nodejs', engine: 'isolate', code: LOGS },
      x.as(A, 'developer'),
    );
    assert.equal(a.status, 201, a.text);
    const b = await x.t.request(
      'PUT',
      '/v1/functions/chatty',
      { runtime: 'nodejs', engine: 'isolate', code: LOGS },
      x.as(B, 'developer'),
    );
    assert.equal(b.status, 201, b.text);
  });
  after(() => x?.t.close());

  it("B follows only its own function of A's name, never A's lines", async () => {
    for (const fn of [FN, `${A}/${FN}`, `~${A}/${FN}`]) {
      const f = await follow(x.t.url, fn, x.as(B, 'reader'));
      f.close();
      assert.ok([400, 404].includes(f.status), `${fn}: ${f.status}`);
    }
    const b = await follow(x.t.url, 'chatty', x.as(B, 'reader'));
    const a = await follow(x.t.url, 'chatty', x.as(A, 'reader'));
    try {
      assert.equal(b.status, 200);
      assert.equal(a.status, 200);
      assert.equal(
        (await x.t.request('POST', '/v1/functions/chatty/invoke', { who: 'a' }, x.as(A, 'invoker'))).status,
        200,
      );
      assert.equal(
        (await x.t.request('POST', '/v1/functions/chatty/invoke', { who: 'b' }, x.as(B, 'invoker'))).status,
        200,
      );
      await a.waitFor('A hears its line', (e) => e.some((l) => l.line === 'line-of-a'));
      await b.waitFor('B hears its line', (e) => e.some((l) => l.line === 'line-of-b'));
      await new Promise((r) => setTimeout(r, 300));
      assert.ok(!b.events.some((l) => l.line === 'line-of-a'), 'B heard A');
      assert.ok(!a.events.some((l) => l.line === 'line-of-b'), 'A heard B');
    } finally {
      a.close();
      b.close();
    }
  });

  it('one namespace cannot take every follower place of the front end', async () => {
    const open: Following[] = [];
    try {
      for (let i = 0; i < MAX_LOG_FOLLOWERS; i++) {
        const f = await follow(x.t.url, 'chatty', x.as(B, 'reader'));
        open.push(f);
        if (f.status === 429) break;
        assert.equal(f.status, 200, `follower ${i}`);
      }
      const held = open.filter((f) => f.status === 200).length;
      assert.ok(held > 0 && held < MAX_LOG_FOLLOWERS, `B holds ${held} of ${MAX_LOG_FOLLOWERS} follower places`);
      const a = await follow(x.t.url, 'chatty', x.as(A, 'reader'));
      open.push(a);
      assert.equal(a.status, 200, `A cannot follow its own function while B holds ${held} streams`);
    } finally {
      for (const f of open) f.close();
    }
  });
});
