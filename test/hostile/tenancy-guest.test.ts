// Attacks from code running inside a function of namespace B: a function
// named like A's, asking its KV store for A's keys with every path trick,
// listing everything, and sending values and TTLs at the limits. It must only
// ever see its own (empty) store, get a catchable Error for each refusal, and
// leave A's store as it was. On the isolate and process engines.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { A, B, FN, twoTenants, type Tenants } from './tenancy-fixture.ts';

const PROBE = `export const handler = async (e, ctx) => {
  const out = { reads: {}, refusals: [], list: null };
  for (const k of ${JSON.stringify([
    'a/private',
    `../${A}/${FN}/a/private`,
    `${A}/${FN}/a/private`,
    `${A}\u0000${FN}\u0000a/private`,
    '/a/private',
    'a%2Fprivate',
    'touched',
  ])}) out.reads[k] = await ctx.kv.get(k);
  out.list = (await ctx.kv.list({ prefix: '' })).keys.map((k) => k.name);
  out.listA = (await ctx.kv.list({ prefix: '${A}' })).keys.map((k) => k.name);
  const tries = [
    () => ctx.kv.put('k'.repeat(513), 1),
    () => ctx.kv.put('big', 'x'.repeat(1024 * 1024 + 1)),
    () => ctx.kv.put('ttl0', 1, { ttlSeconds: 0 }),
    () => ctx.kv.put('ttlneg', 1, { ttlSeconds: -5 }),
    () => ctx.kv.put('ttlnan', 1, { ttlSeconds: NaN }),
    () => ctx.kv.put('ttlhuge', 1, { ttlSeconds: 1e15 }),
    () => ctx.kv.put('', 1),
    () => ctx.kv.list({ limit: 100000 }),
    () => ctx.kv.increment('touched', 1e308 * 10),
  ];
  for (const t of tries) { try { await t(); out.refusals.push('accepted'); } catch (err) { out.refusals.push(String(err && err.message).slice(0, 120)); } }
  return out;
};`;

describe('hostile tenancy: a function of B reaching for A state', () => {
  let x: Tenants;
  const engines: string[] = [];
  before(async () => {
    x = await twoTenants();
    const report = (await x.t.request('GET', '/v1/engines')).json.engines as Record<string, { available?: boolean }>;
    for (const kind of ['isolate', 'process']) if (report[kind]?.available) engines.push(kind);
  });
  after(() => x?.t.close());

  it('sees only its own empty store and gets an Error for each refusal, on every engine', async () => {
    assert.ok(engines.length > 0);
    for (const engine of engines) {
      const dep = await x.t.request(
        'PUT',
        `/v1/functions/${FN}`,
        { runtime: 'nodejs', engine, code: PROBE },
        x.as(B, 'developer'),
      );
      assert.ok([200, 201].includes(dep.status), dep.text);
      const r = await x.t.request('POST', `/v1/functions/${FN}/invoke`, {}, x.as(B, 'invoker'));
      assert.equal(r.status, 200, `${engine}: ${r.text}`);
      const out = r.json as { reads: Record<string, unknown>; list: string[]; listA: string[]; refusals: string[] };
      for (const [k, v] of Object.entries(out.reads))
        assert.equal(v, null, `${engine}: ${k} read ${JSON.stringify(v)}`);
      assert.deepEqual(out.list, [], engine);
      assert.deepEqual(out.listA, [], engine);
      assert.equal(out.refusals.length, 9);
      // The first seven are limits the host enforces; a refusal is an Error message, not 'accepted'.
      assert.deepEqual(
        out.refusals.slice(0, 8).filter((m) => m === 'accepted'),
        [],
        `${engine}: ${JSON.stringify(out.refusals)}`,
      );
    }
    const a = await x.t.request('GET', `/v1/kv/${FN}`, undefined, x.as(A, 'reader'));
    assert.deepEqual((a.json.keys as { key: string }[]).map((k) => k.key).sort(), ['a/private', 'touched']);
    const b = await x.t.request('GET', `/v1/kv/${FN}`, undefined, x.as(B, 'reader'));
    assert.ok(!b.text.includes('a/private'), b.text);
  });
});
