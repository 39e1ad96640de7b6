// A burst of async calls runs as wide as the function allows: 500 calls to a
// function with concurrency 4 and maxSandboxes 4 (16 sandbox slots), accepted
// at once, run up to 16 at a time, as the function itself sees through a
// shared counter (its KV store: a process sandbox has a private /tmp, so a
// file on the host is out of its reach by design). No activation runs more
// often than it was attempted (once, unless an attempt failed). Embedded, and
// in a cluster (one front end, one invoker, NATS and PostgreSQL).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.ts';
import { testCluster } from '../cluster/cluster.ts';
import { call, deploy, invoke, settled } from '../cluster/http.ts';
import type { TestResponse } from '../helpers/platform.ts';

const CALLS = 500;
/** Each call counts its own runs (keyed by its activation id) and how many calls were in flight when it started. */
const CODE = `exports.handler = async (event, context) => {
  const runs = await context.kv.increment('runs:' + context.awsRequestId);
  const inflight = await context.kv.increment('inflight');
  await new Promise((r) => setTimeout(r, event.holdMs));
  await context.kv.increment('inflight', -1);
  return { runs, inflight };
};`;

interface Api {
  deploy(): Promise<TestResponse>;
  accept(): Promise<TestResponse>;
  settled(id: string, timeoutMs: number): Promise<Record<string, unknown>>;
  inflight(): Promise<TestResponse>;
  /** Accept requests sent at once (the rest wait for the wave before them). */
  wave: number;
}

async function burst(api: Api): Promise<void> {
  const d = await api.deploy();
  assert.equal(d.status, 201, d.text);
  const accepted: TestResponse[] = [];
  for (let sent = 0; sent < CALLS; sent += api.wave)
    accepted.push(...(await Promise.all(Array.from({ length: Math.min(api.wave, CALLS - sent) }, () => api.accept()))));
  const ids = accepted.map((r) => {
    assert.equal(r.status, 202, r.text);
    return r.json.activationId as string;
  });
  assert.equal(new Set(ids).size, CALLS);
  // 500 calls of 100 ms on 16 slots take about 3.2 s, on one slot 50 s: the bound is for a loaded machine, not a speed assertion.
  const records = [];
  const until = Date.now() + 300_000;
  for (const id of ids) records.push(await api.settled(id, Math.max(1000, until - Date.now())));
  let most = 0;
  for (const r of records) {
    assert.equal(r.status, 'success', JSON.stringify(r));
    const result = r.result as { runs: number; inflight: number };
    // A retry after a failed attempt may run it again, never more often than attempted.
    assert.ok(
      result.runs <= Number(r.attempts),
      `activation ${String(r.id)} ran ${result.runs} times in ${String(r.attempts)} attempts`,
    );
    most = Math.max(most, result.inflight);
  }
  assert.ok(most > 4, `more than one sandbox's worth of calls ran at once (most in flight: ${most})`);
  assert.ok(most <= 16, `never more than concurrency x maxSandboxes at once (most in flight: ${most})`);
  assert.equal((await api.inflight()).json.value, 0, 'every call that started ended');
}

const CONFIG = { concurrency: 4, maxSandboxes: 4 };
const EVENT = { holdMs: 100 };

describe('async burst (embedded, process engine)', () => {
  let t: TestPlatform;
  before(async () => {
    t = await startTestPlatform();
  });
  after(() => t.close());

  it(`runs ${CALLS} accepted calls up to concurrency x maxSandboxes at once, each once`, () =>
    burst({
      deploy: () => t.deploy('burst', CODE, CONFIG),
      accept: () => t.invoke('burst', EVENT, '?async=1'),
      settled: (id, ms) => t.settled(id, ms),
      inflight: () => t.request('GET', '/v1/kv/burst/inflight'),
      wave: CALLS,
    }));
});

describe('async burst (cluster: one front end, one invoker, process engine)', async () => {
  const c = await testCluster();
  let fe: string;
  before(async () => {
    // Slots above the function's 16, so that the balancer never counts the one invoker full.
    [fe] = (await c.startNodes({ 'burst-a': ['--slots', '64'] }, 1)) as [string];
  });

  it(`runs ${CALLS} accepted calls up to concurrency x maxSandboxes at once, each once`, () =>
    burst({
      deploy: () => deploy(fe, 'burst', CODE, CONFIG),
      accept: () => invoke(fe, 'burst', EVENT, '?async=1'),
      settled: (id, ms) => settled(fe, id, ms),
      inflight: () => call(fe, 'GET', '/v1/kv/burst/inflight'),
      // 500 accepts at once wait over 2 s for one of the front end's 10 PostgreSQL connections and get
      // 503 (the pool's connect timeout); waves of 50 still leave a backlog of hundreds behind 16 slots.
      wave: 50,
    }));
});
