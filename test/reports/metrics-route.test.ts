// GET /v1/reports/metrics and /v1/reports/latency on a real embedded platform
// (isolate engine): calls made here show per engine with a rate, percentiles,
// a cold start and a latency class; another namespace sees none of them; an
// empty window says so; bad input is a 400 saying how to fix it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.ts';

const CODE = 'export const handler = async (event) => "ok";';
const OTHER = { 'x-nimbus-namespace': 'metrics-other' };

describe('metrics and latency report routes', () => {
  let t: TestPlatform;

  before(async () => {
    t = await startTestPlatform();
    assert.equal((await t.deploy('quick', CODE, { engine: 'isolate' })).status, 201);
    assert.equal((await t.request('POST', '/v1/namespaces', { name: 'metrics-other' })).status, 201);
    for (let i = 0; i < 5; i++) {
      const r = await t.invoke('quick');
      assert.equal(r.status, 200, r.text);
    }
  });
  after(() => t?.close());

  it("counts the namespace's calls per engine and step, with one cold start", async () => {
    const r = await t.request('GET', '/v1/reports/metrics?window=10m&step=1m');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.namespace, 'default');
    assert.equal(r.json.steps.length, 10);
    assert.equal(r.json.engines.length, 1);
    const [iso] = r.json.engines;
    assert.equal(iso.engine, 'isolate');
    assert.equal(iso.totals.calls, 5);
    assert.equal(iso.totals.coldStarts, 1);
    assert.equal(iso.totals.coldShare, 0.2);
    assert.ok(iso.totals.p50Ms >= 0 && iso.totals.p99Ms >= iso.totals.p50Ms);
    assert.equal(iso.steps.calls.at(-1), 5, 'the calls fall in the last step');
    assert.ok(Math.abs(iso.steps.perSecond.at(-1) - 5 / 60) < 1e-5);
    assert.equal(iso.steps.p50Ms[0], null);
  });

  it('places the cold and warm p99 in a latency class', async () => {
    const r = await t.request('GET', '/v1/reports/latency');
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(
      r.json.classes.map((c: { name: string }) => c.name),
      ['real-time', 'interactive', 'batch'],
    );
    const [iso] = r.json.engines;
    assert.equal(iso.engine, 'isolate');
    assert.equal(iso.cold.calls, 1);
    assert.equal(iso.warm.calls, 4);
    assert.ok(['real-time', 'interactive', 'batch'].includes(iso.warm.class));
    assert.ok(iso.cold.p99Ms >= iso.warm.p50Ms, 'a cold start waits for the sandbox');
  });

  it('shows another namespace none of these calls, and says its window is empty', async () => {
    for (const path of ['/v1/reports/metrics', '/v1/reports/latency']) {
      const r = await t.request('GET', path, undefined, OTHER);
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.namespace, 'metrics-other');
      assert.deepEqual(r.json.engines, []);
      assert.match(r.json.message, /no finished calls were recorded in this window/);
    }
  });

  it('GET /v1/sandboxes counts the calls each sandbox took (the dashboard shows it)', async () => {
    const r = await t.request('GET', '/v1/sandboxes');
    assert.equal(r.status, 200, r.text);
    const mine = r.json.sandboxes.filter((s: { functionName: string }) => s.functionName === 'quick');
    assert.equal(mine.length, 1, r.text);
    assert.equal(mine[0].calls, 5);
  });

  it('refuses bad input with a 400 saying how to fix it', async () => {
    const cases: [string, RegExp][] = [
      ['/v1/reports/metrics?window=forever', /window must be a number and a unit/],
      ['/v1/reports/metrics?step=1s', /more than 1000; use a larger step/],
      ['/v1/reports/metrics?window=1h&window=2h', /given more than once/],
      ['/v1/reports/latency?step=1m', /unknown query parameter "step"/],
    ];
    for (const [path, re] of cases) {
      const r = await t.request('GET', path);
      assert.equal(r.status, 400, `${path}: ${r.text}`);
      assert.equal(r.json.error.code, 'bad_request');
      assert.match(r.json.error.message, re);
    }
  });
});
