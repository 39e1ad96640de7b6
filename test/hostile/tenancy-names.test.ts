// Attacks on names: a key of namespace B (or a browser on the function
// origin) spelling A's objects in every form a name can take (qualified
// `a/fn`, percent-encoded slashes, `..`, `name:alias`, `?version=`, `/fn/~a/`,
// x-nimbus-namespace in other case, with spaces, twice). Each must be a 404
// (or a 400/403 for a malformed or forbidden name), never A's object, and A's
// function must never run for B.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { A, B, FN, twoTenants, type Tenants } from './tenancy-fixture.ts';

describe('hostile tenancy: names that try to reach another namespace', () => {
  let x: Tenants;
  before(async () => {
    x = await twoTenants();
  });
  after(() => x?.t.close());

  /** A's function has run only the one call the fixture made (a call for B would add records). */
  const aRuns = async () =>
    (await x.t.request('GET', `/v1/activations?function=${FN}`, undefined, x.as(A, 'reader'))).json.activations
      .length as number;

  it('spells A function qualified, encoded or with dots on every function route: never A', async () => {
    const b = x.as(B, 'admin');
    const forms = [
      `${A}%2F${FN}`,
      `${A}%2f${FN}`,
      `..%2F${A}%2F${FN}`,
      `%2E%2E%2F${A}%2F${FN}`,
      `${A}%252F${FN}`,
      `${FN}%00`,
      `${A}%5C${FN}`,
      `~${A}%2F${FN}`,
    ];
    for (const f of forms) {
      for (const [method, p, body] of [
        ['GET', `/v1/functions/${f}`],
        ['POST', `/v1/functions/${f}/invoke`, {}],
        ['POST', `/v1/functions/${f}/invoke?async=1`, {}],
        ['GET', `/v1/functions/${f}/versions`],
        ['GET', `/v1/functions/${f}/aliases/live`],
        ['GET', `/v1/kv/${f}/a/private`],
        ['GET', `/v1/logs?function=${f}`],
        ['GET', `/v1/activations?function=${f}`],
      ] as const) {
        const r = await x.t.request(method, p, body, b);
        assert.ok([400, 404].includes(r.status), `${method} ${p}: ${r.status} ${r.text}`);
        assert.doesNotMatch(r.text, /"from":"victim"|a-kv-value/, `${method} ${p} showed A's data`);
      }
    }
    assert.equal(await aRuns(), 1);
  });

  it('the name:suffix, ?version= and ?alias= forms resolve in B only', async () => {
    const b = x.as(B, 'invoker');
    for (const q of [`${FN}:live/invoke`, `${FN}:1/invoke`, `${FN}/invoke?version=1`, `${FN}/invoke?alias=live`]) {
      const r = await x.t.request('POST', `/v1/functions/${q}`, {}, b);
      assert.equal(r.status, 404, `${q}: ${r.status} ${r.text}`);
    }
    for (const q of [`${A}%2F${FN}:live`, `${FN}:${A}%2Flive`, `${FN}:..%2F..%2Flive`]) {
      const r = await x.t.request('POST', `/v1/functions/${q}/invoke`, {}, b);
      assert.ok([400, 404].includes(r.status), `${q}: ${r.status} ${r.text}`);
    }
    assert.equal(await aRuns(), 1);
  });

  it('the function origin: /fn/~a/ and encoded namespaces with B key are a 404', async () => {
    const b = x.as(B, 'admin');
    for (const p of [
      `/fn/~${A}/${FN}`,
      `/fn/~${A}/${FN}:live/x`,
      `/fn/~${A}/${FN}%3A1`,
      `/fn/%7E${A}/${FN}`,
      `/fn/${A}%2F${FN}`,
      `/fn/~${A}%2F${FN}`,
      `/fn/~${A.toUpperCase()}/${FN}`,
      `/fn/~${B}/..%2F~${A}%2F${FN}`,
      `/fn/~${B}/%2E%2E/~${A}/${FN}`,
    ]) {
      const r = await x.t.fnRequest('GET', p, undefined, b);
      assert.ok([400, 404].includes(r.status), `${p}: ${r.status} ${r.text}`);
      assert.doesNotMatch(r.text, /"from":"victim"/);
    }
    assert.equal(await aRuns(), 1);
  });

  it('x-nimbus-namespace tricks with a key of B: never acts in A', async () => {
    const key = x.as(B, 'admin');
    for (const ns of [A, A.toUpperCase(), ` ${A}`, `${A} `, `${A},${B}`, `${B},${A}`, `${A}\t`]) {
      const r = await x.t.request('GET', '/v1/functions', undefined, { ...key, 'x-nimbus-namespace': ns });
      assert.ok([400, 403].includes(r.status), `"${ns}": ${r.status} ${r.text}`);
    }
    // The same on the function origin.
    for (const ns of [A, A.toUpperCase()]) {
      const r = await x.t.fnRequest('GET', `/fn/${FN}`, undefined, { ...key, 'x-nimbus-namespace': ns });
      assert.ok([400, 403].includes(r.status), `/fn/ "${ns}": ${r.status} ${r.text}`);
    }
    // The header twice: node joins it into one value, which is no namespace name.
    const res = await fetch(`${x.t.url}/v1/functions`, {
      headers: [
        ['authorization', key.authorization!],
        ['x-nimbus-namespace', B],
        ['x-nimbus-namespace', A],
      ],
    });
    assert.ok([400, 403].includes(res.status), `twice: ${res.status}`);
    // Empty header: its own namespace, never A's.
    const empty = await x.t.request('GET', '/v1/functions', undefined, { ...key, 'x-nimbus-namespace': '' });
    assert.equal(empty.status, 200);
    assert.deepEqual(empty.json.functions, []);
  });

  it("A's activation, key and sandbox ids read, listed or acted on by B: 404 / empty", async () => {
    const b = x.as(B, 'admin');
    const byId = await x.t.request('GET', `/v1/activations/${x.activation}`, undefined, b);
    assert.equal(byId.status, 404);
    const listed = await x.t.request('GET', '/v1/activations?limit=1000', undefined, b);
    assert.equal(listed.status, 200);
    assert.ok(!listed.text.includes(x.activation));
    const keys = await x.t.request('GET', '/v1/keys', undefined, b);
    assert.equal(keys.status, 200);
    assert.ok(!keys.text.includes(x.keys[A]!.admin.id), 'B lists A keys');
    assert.equal((await x.t.request('DELETE', `/v1/keys/${x.keys[A]!.reader.id}`, undefined, b)).status, 404);
    // A's key still works: the revoke above did nothing.
    assert.equal((await x.t.request('GET', '/v1/functions', undefined, x.as(A, 'reader'))).status, 200);
    const sandboxes = (await x.t.request('GET', '/v1/sandboxes', undefined, x.as(A, 'reader'))).json;
    const aSandbox = (sandboxes.sandboxes as { id: string }[])[0]?.id;
    assert.ok(aSandbox, 'A has a warm sandbox after its call');
    for (const [method, p, body] of [
      ['DELETE', `/v1/sandboxes/${aSandbox}`],
      ['PATCH', `/v1/sandboxes/${aSandbox}`, { memoryMb: 512 }],
      ['POST', `/v1/sandboxes/${aSandbox}/migrate`],
    ] as const)
      assert.equal((await x.t.request(method, p, body, b)).status, 404, `${method} ${p}`);
    const bList = await x.t.request('GET', '/v1/sandboxes', undefined, b);
    assert.ok(!bList.text.includes(aSandbox), 'B lists A sandbox');
  });

  it('KV keys with slashes, dots, encodings, unicode and huge lengths stay in the function they name', async () => {
    const bDev = x.as(B, 'developer');
    assert.equal(
      (
        await x.t.request(
          'PUT',
          '/v1/functions/probe',
          { runtime: 'nodejs', engine: 'isolate', code: 'export const handler = async () => 1;' },
          bDev,
        )
      ).status,
      201,
    );
    for (const key of [
      `../${A}/${FN}/a/private`,
      `..%2F..%2F${A}%2F${FN}%2Fa%2Fprivate`,
      `%2E%2E/%2E%2E/kv/${FN}/a/private`,
      '\u2215a\u2215private',
      'a/private',
    ]) {
      const r = await x.t.request('GET', `/v1/kv/probe/${key}`, undefined, bDev);
      assert.equal(r.status, 404, `${key}: ${r.status} ${r.text}`);
      assert.doesNotMatch(r.text, /a-kv-value/);
    }
    for (const ttlSeconds of [0, -1, 1.5, 1e12, '10', null, Number.MAX_SAFE_INTEGER]) {
      const r = await x.t.request('PUT', '/v1/kv/probe/ttl', { value: 1, ttlSeconds }, bDev);
      assert.equal(r.status, 400, `ttlSeconds ${String(ttlSeconds)}: ${r.status} ${r.text}`);
    }
    assert.equal((await x.t.request('GET', '/v1/kv/probe/ttl', undefined, bDev)).status, 404, 'a refused put wrote');
    const long = await x.t.request('PUT', `/v1/kv/probe/${'k'.repeat(600)}`, { value: 1 }, bDev);
    assert.ok([400, 414].includes(long.status), `long key: ${long.status}`);
    const list = await x.t.request('GET', `/v1/kv/probe?prefix=${encodeURIComponent('%')}`, undefined, bDev);
    assert.equal(list.status, 200);
    assert.deepEqual(list.json.keys, []);
    // A's key is as it was.
    const a = await x.t.request('GET', `/v1/kv/${FN}/a/private`, undefined, x.as(A, 'reader'));
    assert.equal(a.json.value, 'a-kv-value');
  });
});
