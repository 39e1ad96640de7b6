// Attacks on invocationsPerMinute: a namespace with a quota of 3 calls a
// minute tries to get 10 runs through each door a call can come in by: the
// function origin, async calls, one publish to 10 subscribers, a destination
// that names its own function, and a sequence of 10 steps. Each namespace is
// fresh, so each door starts at 0; a minute may turn during a door's tries,
// so up to twice the quota may pass, never 10.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.ts';

const QUOTA = 3;
const TRIES = 10;
const PLAIN = 'export const handler = async (e) => ({ ok: true });';

describe('hostile tenancy: invocationsPerMinute through every door', () => {
  let t: TestPlatform;
  before(async () => {
    t = await startTestPlatform();
  });
  after(() => t?.close());

  /** A fresh namespace with the quota and a function `fn` (more config merged in); root acts in it. */
  const greedy = async (ns: string, config: Record<string, unknown> = {}) => {
    const made = await t.request('POST', '/v1/namespaces', { name: ns, quotas: { invocationsPerMinute: QUOTA } });
    assert.equal(made.status, 201, made.text);
    const h = { 'x-nimbus-namespace': ns };
    const fn = await t.request(
      'PUT',
      '/v1/functions/fn',
      { runtime: 'nodejs', engine: 'isolate', code: PLAIN, ...config },
      h,
    );
    assert.equal(fn.status, 201, fn.text);
    return h;
  };
  const records = async (h: Record<string, string>) =>
    (await t.request('GET', '/v1/activations?limit=1000', undefined, h)).json.activations as {
      status: string;
      trigger: string;
    }[];
  const atMostTwice = (n: number, door: string) =>
    assert.ok(n <= 2 * QUOTA, `${door}: ${n} runs of ${TRIES} tries past invocationsPerMinute ${QUOTA}`);

  it('the function origin', async () => {
    const h = await greedy('door-fn');
    let ok = 0;
    for (let i = 0; i < TRIES; i++) if ((await t.fnRequest('POST', '/fn/fn', {}, h)).status === 200) ok++;
    atMostTwice(ok, '/fn');
    atMostTwice((await records(h)).length, '/fn records');
  });

  it('async calls', async () => {
    const h = await greedy('door-async');
    let accepted = 0;
    for (let i = 0; i < TRIES; i++)
      if ((await t.request('POST', '/v1/functions/fn/invoke?async=1', {}, h)).status === 202) accepted++;
    atMostTwice(accepted, 'async');
  });

  it('one publish to 10 subscribers', async () => {
    const h = await greedy('door-topic');
    for (let i = 0; i < TRIES; i++) {
      const r = await t.request('PUT', `/v1/triggers/sub-${i}`, { type: 'topic', topic: 'fan', function: 'fn' }, h);
      assert.equal(r.status, 201, r.text);
    }
    const pub = await t.request('POST', '/v1/topics/fan/publish', {}, h);
    assert.ok([202, 429].includes(pub.status), pub.text);
    await new Promise((r) => setTimeout(r, 1_000));
    atMostTwice((await records(h)).filter((r) => r.trigger === 'topic').length, 'topic fan-out');
  });

  it('a destination that names its own function (a chain of 8 hops)', async () => {
    const h = await greedy('door-dest', { destinations: { onSuccess: { function: 'fn' } } });
    const call = await t.request('POST', '/v1/functions/fn/invoke?async=1', {}, h);
    assert.equal(call.status, 202, call.text);
    await new Promise((r) => setTimeout(r, 4_000));
    const hops = await records(h);
    atMostTwice(hops.filter((r) => r.status === 'success').length, 'destination chain');
  });

  it('a sequence of 10 steps', async () => {
    const h = await greedy('door-seq');
    const seq = await t.request('PUT', '/v1/functions/seq', { kind: 'sequence', steps: Array(TRIES).fill('fn') }, h);
    assert.equal(seq.status, 201, seq.text);
    await t.request('POST', '/v1/functions/seq/invoke', {}, h);
    atMostTwice(
      (await records(h)).filter((r) => r.trigger === 'sequence' && r.status === 'success').length,
      'sequence',
    );
  });
});
