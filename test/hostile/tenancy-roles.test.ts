// Attacks on roles and on a namespace's life: keys of every role of B trying
// what their role or namespace does not allow (making keys, a root role,
// deleting or re-quota'ing namespaces, reading secrets' values), secrets'
// values looked for in every answer a key of the namespace can get, and a
// namespace deleted while its calls are queued, then made again for another
// team: the new team must find nothing of the old one.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { A, A_SECRET_VALUE, B, FN, ROLES, twoTenants, type Tenants } from './tenancy-fixture.ts';

describe('hostile tenancy: roles, secrets and a namespace deleted and made again', () => {
  let x: Tenants;
  before(async () => {
    x = await twoTenants();
  });
  after(() => x?.t.close());

  it('no key of B makes keys of A, a root key, namespaces, or changes quotas', async () => {
    for (const role of ROLES) {
      const h = x.as(B, role);
      const tries: [string, string, unknown, number[]][] = [
        ['POST', '/v1/keys', { namespace: A, role: 'admin' }, [403]],
        ['POST', '/v1/keys', { role: 'root' }, role === 'admin' ? [400] : [403]],
        ['POST', '/v1/keys', { namespace: 'default', role: 'admin' }, [403]],
        ['POST', '/v1/namespaces', { name: 'b-owned' }, [403]],
        ['GET', '/v1/namespaces', undefined, [403]],
        ['DELETE', `/v1/namespaces/${B}?force=1`, undefined, [403]],
        ['DELETE', `/v1/namespaces/${A}?force=1`, undefined, [403]],
        ['PATCH', `/v1/namespaces/${B}`, { quotas: { maxConcurrent: 100000 } }, [403]],
        ['PATCH', `/v1/namespaces/${A}`, { quotas: { maxConcurrent: 0 } }, [403]],
        ['GET', `/v1/namespaces/${A}`, undefined, role === 'invoker' ? [403] : [404]],
        ['GET', '/metrics', undefined, [403]],
      ];
      if (role !== 'admin') tries.push(['POST', '/v1/keys', { role: 'admin' }, [403]]);
      for (const [method, p, body, want] of tries) {
        const r = await x.t.request(method, p, body, h);
        assert.ok(want.includes(r.status), `${role}: ${method} ${p} ${JSON.stringify(body)}: ${r.status} ${r.text}`);
      }
    }
    const namespaces = (await x.t.request('GET', '/v1/namespaces')).json.namespaces as {
      name: string;
      quotas: object;
    }[];
    assert.deepEqual(namespaces.map((n) => n.name).sort(), [A, B, 'default'].sort(), 'a namespace was made or deleted');
    assert.ok(
      namespaces.every((n) => Object.keys(n.quotas).length === 0),
      'a quota changed',
    );
    const keys = (await x.t.request('GET', `/v1/keys?namespace=${A}`)).json.keys as unknown[];
    assert.equal(keys.length, ROLES.length, 'a key of A was made');
  });

  it("no key, of any role, reads a secret's value from any answer", async () => {
    const seen: string[] = [];
    for (const role of ROLES) {
      const h = x.as(A, role);
      for (const [method, p, body] of [
        ['GET', '/v1/secrets'],
        ['GET', `/v1/functions/${FN}`],
        ['GET', '/v1/functions'],
        ['GET', `/v1/functions/${FN}/versions`],
        [
          'PUT',
          `/v1/functions/${FN}?dryRun=1`,
          { runtime: 'nodejs', code: 'export const handler = async () => 1;', secrets: { VAULT_PASS: 'vault-pass' } },
        ],
        [
          'PUT',
          `/v1/functions/${FN}?dryRun=1`,
          {
            runtime: 'nodejs',
            code: 'export const handler = async () => 1;',
            secrets: { VAULT_PASS: 'vault-pass' },
            env: { VAULT_PASS: 'x' },
          },
        ],
        ['PUT', '/v1/secrets/vault-pass', { value: A_SECRET_VALUE, extra: A_SECRET_VALUE }],
        ['PUT', '/v1/secrets/vault-pass', `{"value": "${A_SECRET_VALUE}`],
        ['PUT', '/v1/secrets/vault-pass', { value: `${A_SECRET_VALUE}\u0000` }],
        ['PUT', '/v1/secrets/vault-pass', { value: A_SECRET_VALUE.repeat(8000) }],
        ['DELETE', '/v1/secrets/vault-pass'],
        ['GET', `/v1/namespaces/${A}`],
        ['GET', '/v1/sandboxes'],
      ] as const) {
        const r = await x.t.request(method, p, body, h);
        seen.push(`${role} ${method} ${p} ${r.status} ${r.text}`);
      }
    }
    const leaks = seen.filter((s) => s.includes(A_SECRET_VALUE));
    assert.deepEqual(leaks, []);
    // The secret is still there (every attempt above to change or delete it was refused or a no-op).
    const listed = (await x.t.request('GET', '/v1/secrets', undefined, x.as(A, 'reader'))).json.secrets as {
      name: string;
    }[];
    assert.deepEqual(
      listed.map((s) => s.name),
      ['vault-pass'],
    );
  });

  it('a function never sees the key that called it (a developer cannot harvest an admin key)', async () => {
    const echo = 'export default { async fetch(req) { return Response.json([...req.headers.entries()]); } };';
    const d = await x.t.request(
      'PUT',
      '/v1/functions/echo',
      { runtime: 'nodejs', engine: 'isolate', code: echo },
      x.as(A, 'developer'),
    );
    assert.equal(d.status, 201, d.text);
    const admin = x.as(A, 'admin');
    for (const p of ['/fn/echo', `/fn/~${A}/echo/x`, '/fn/echo:1/x?y=1']) {
      const r = await x.t.fnRequest('POST', p, { hi: 1 }, admin);
      assert.equal(r.status, 200, `${p}: ${r.text}`);
      assert.ok(!r.text.includes(x.keys[A]!.admin.key), `${p}: the function saw the admin key: ${r.text}`);
    }
    const inv = await x.t.request('POST', '/v1/functions/echo/invoke', {}, admin);
    assert.ok(!inv.text.includes(x.keys[A]!.admin.key), inv.text);
  });

  it('a namespace deleted with calls queued, made again for another team, holds nothing of the old one', async () => {
    const admin = x.as(A, 'admin');
    const slow = await x.t.request(
      'PUT',
      '/v1/functions/slow',
      {
        runtime: 'nodejs',
        engine: 'isolate',
        code: 'export const handler = async (e, ctx) => { console.log("old-team-log"); await new Promise((r) => setTimeout(r, 800)); await ctx.kv.put("left-" + e.i, "old-team-kv"); return "old-team"; };',
      },
      admin,
    );
    assert.equal(slow.status, 201, slow.text);
    const queued: string[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await x.t.request('POST', '/v1/functions/slow/invoke?async=1', { i }, x.as(A, 'invoker'));
      assert.equal(r.status, 202, r.text);
      queued.push(r.json.activationId);
    }
    const deleted = await x.t.request('DELETE', `/v1/namespaces/${A}?force=1`);
    assert.equal(deleted.status, 200, deleted.text);
    const oldKey = x.as(A, 'admin');
    assert.equal((await x.t.request('GET', '/v1/functions', undefined, oldKey)).status, 401, 'an old key still works');
    // Let anything still running or queued for the old namespace finish, retries included.
    await new Promise((r) => setTimeout(r, 4_000));
    assert.equal((await x.t.request('POST', '/v1/namespaces', { name: A })).status, 201);
    const fresh = {
      authorization: `Bearer ${(await x.t.request('POST', '/v1/keys', { namespace: A, role: 'admin' })).json.key}`,
    };
    const look = async (p: string) => {
      const r = await x.t.request('GET', p, undefined, fresh);
      return r;
    };
    assert.deepEqual((await look('/v1/functions')).json.functions, []);
    assert.deepEqual((await look('/v1/secrets')).json.secrets, []);
    assert.deepEqual((await look('/v1/triggers')).json.triggers, []);
    const acts = (await look('/v1/activations?limit=1000')).json.activations as { id: string }[];
    assert.deepEqual(acts, [], 'the new team reads the old team records');
    for (const id of [x.activation, ...queued]) assert.equal((await look(`/v1/activations/${id}`)).status, 404, id);
    // Same function name again: no old state, aliases or versions.
    const again = await x.t.request(
      'PUT',
      `/v1/functions/${FN}`,
      { runtime: 'nodejs', engine: 'isolate', code: 'export const handler = async () => 2;' },
      fresh,
    );
    assert.equal(again.status, 201, again.text);
    const slowAgain = await x.t.request(
      'PUT',
      '/v1/functions/slow',
      { runtime: 'nodejs', engine: 'isolate', code: 'export const handler = async () => 3;' },
      fresh,
    );
    assert.equal(slowAgain.status, 201, slowAgain.text);
    // What the old team's calls stored after the delete is not the new function's state.
    const kv = await look('/v1/kv/slow');
    assert.deepEqual(kv.json.keys, [], 'the new team reads the old team KV');
    const lines = await look('/v1/logs?function=slow');
    assert.equal(lines.status, 200, lines.text);
    assert.deepEqual(lines.json.lines, [], 'the new team reads the old team log lines');
    assert.equal((await look(`/v1/kv/${FN}/a/private`)).status, 404);
    assert.deepEqual((await look(`/v1/functions/${FN}/aliases`)).json.aliases, []);
    assert.equal((await look(`/v1/functions/${FN}/versions`)).json.versions.length, 1);
    // The reports read the same records: none of the old team's calls are counted.
    const cost = await look('/v1/reports/cost');
    assert.equal(cost.status, 200, cost.text);
    assert.equal(cost.json.totals.calls, 0, 'the cost report counts the old team calls');
    const quotas = (await look(`/v1/namespaces/${A}`)).json;
    assert.equal(quotas.usage.running, 0);
  });
});
