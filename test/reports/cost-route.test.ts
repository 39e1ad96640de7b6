// GET /v1/reports/cost on a real embedded platform (isolate engine): calls made
// here show in the right bucket with a serverless and a VM cost; another
// namespace's calls are not counted; bad input is a 400 saying how to fix it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.ts';

const CODE =
  'export const handler = async (event) => { await new Promise((r) => setTimeout(r, event.ms ?? 300)); return "ok"; };';
const OTHER = { 'x-nimbus-namespace': 'cost-other' };

describe('cost report route', () => {
  let t: TestPlatform;
  let fromMs: number;
  const report = (query: string, headers: Record<string, string> = {}) =>
    t.request('GET', `/v1/reports/cost?${query}`, undefined, headers);
  const windowQuery = () =>
    `from=${new Date(fromMs).toISOString()}&to=${new Date(fromMs + 120_000).toISOString()}&bucket=1m`;

  before(async () => {
    t = await startTestPlatform();
    fromMs = Date.now() - 30_000;
    assert.equal((await t.deploy('work', CODE, { engine: 'isolate', memoryMb: 256 })).status, 201);
    assert.equal((await t.request('POST', '/v1/namespaces', { name: 'cost-other' })).status, 201);
    const deployed = await t.request(
      'PUT',
      '/v1/functions/work',
      { runtime: 'nodejs', code: CODE, engine: 'isolate' },
      OTHER,
    );
    assert.equal(deployed.status, 201, deployed.text);
    // Two at once, then one alone, in default; two in the other namespace.
    const calls = await Promise.all([t.invoke('work'), t.invoke('work')]);
    calls.push(await t.invoke('work', { ms: 10 }));
    for (let i = 0; i < 2; i++) calls.push(await t.request('POST', '/v1/functions/work/invoke', { ms: 10 }, OTHER));
    for (const c of calls) assert.equal(c.status, 200, c.text);
  });
  after(() => t?.close());

  it("prices the namespace's calls in the bucket they ran in, against an always-on VM for the whole window", async () => {
    const r = await report(windowQuery());
    assert.equal(r.status, 200, r.text);
    const body = r.json;
    assert.equal(body.namespace, 'default');
    assert.equal(body.buckets.length, 2);
    const [first, second] = body.buckets;
    assert.equal(first.calls, 3);
    assert.equal(first.peakConcurrency, 2);
    assert.equal(second.calls, 0);
    assert.ok(first.gbSeconds >= (2 * 0.3 * 256) / 1024, `gbSeconds ${first.gbSeconds}`);
    const expected = first.gbSeconds * 0.0000166667 + (3 * 0.2) / 1e6;
    assert.ok(Math.abs(first.serverlessUsd - expected) < 1e-9, `${first.serverlessUsd} vs ${expected}`);
    assert.equal(body.vms, 1);
    for (const b of body.buckets)
      assert.ok(Math.abs(b.vmUsd - 0.085 / 60) < 1e-9, 'one VM for a minute at the default price');
    assert.ok(first.vmOverServerless > 1, 'an idle VM costs more than three calls');
    assert.ok(first.breakEvenUtilization > 0 && first.utilization > 0);
    assert.equal(second.vmOverServerless, null);
    assert.equal(body.prices.vmHourUsd, 0.085);
    assert.equal(body.message, undefined);
  });

  it("counts only the caller's namespace, also when it names a function", async () => {
    const other = await report(windowQuery(), OTHER);
    assert.equal(other.status, 200, other.text);
    assert.equal(other.json.namespace, 'cost-other');
    assert.equal(other.json.totals.calls, 2);
    const named = await report(`${windowQuery()}&function=work`, OTHER);
    assert.equal(named.json.totals.calls, 2);
    const absent = await report(`${windowQuery()}&function=nothing-here`, OTHER);
    assert.equal(absent.json.totals.calls, 0);
    // A reader key of the other namespace sees its own calls only, and cannot ask for default's.
    const key = await t.request('POST', '/v1/keys', { namespace: 'cost-other', role: 'reader' });
    assert.equal(key.status, 201, key.text);
    const reader = { authorization: `Bearer ${key.json.key}` };
    const own = await report(windowQuery(), reader);
    assert.equal(own.status, 200, own.text);
    assert.deepEqual([own.json.namespace, own.json.totals.calls], ['cost-other', 2]);
    const across = await report(windowQuery(), { ...reader, 'x-nimbus-namespace': 'default' });
    assert.equal(across.status, 403, across.text);
  });

  it('takes prices from the query for one report', async () => {
    const r = await report(`${windowQuery()}&vmHourUsd=6&vmVcpus=1`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.vms, 2, 'two calls at once on 1-vCPU VMs');
    assert.equal(r.json.buckets[0].vmUsd, 0.2); // 2 VMs × 6/h × 1 min
    assert.equal(
      (await report(windowQuery())).json.prices.vmHourUsd,
      0.085,
      'the next report has the configured price',
    );
  });

  it('says so for an empty window', async () => {
    const r = await report('from=2020-01-01T00:00:00Z&to=2020-01-01T01:00:00Z');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.buckets.length, 12);
    assert.equal(r.json.totals.calls, 0);
    assert.equal(r.json.totals.vmOverServerless, null);
    assert.match(r.json.message, /no finished calls/);
  });

  it('refuses bad input with a 400 that says how to fix it', async () => {
    const cases: [string, RegExp][] = [
      ['from=2026-12-01T13:00:00Z&to=2026-12-01T12:00:00Z', /swap them/],
      ['bucket=fortnight', /such as 30s, 5m, 1h or 1d/],
      ['from=2020-01-01T00:00:00Z&to=2026-01-01T00:00:00Z&bucket=1m', /more than 1000; use a larger bucket/],
      ['vmVcpus=0', /vmVcpus must be a number from 1/],
      ['function=Bad%20Name', /invalid function name/],
      ['buckets=5m', /unknown query parameter "buckets"; the report takes from, to, bucket/],
      ['vmHourUsd=1&vmHourUsd=2', /vmHourUsd is given more than once/],
    ];
    for (const [query, message] of cases) {
      const r = await report(query);
      assert.equal(r.status, 400, `${query}: ${r.text}`);
      assert.equal(r.json.error.code, 'bad_request');
      assert.match(r.json.error.message, message, query);
    }
  });
});
