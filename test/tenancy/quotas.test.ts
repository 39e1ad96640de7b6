// Quotas per namespace on an embedded platform, through the API: size quotas
// refuse a deploy with 400 before anything is stored; invocationsPerMinute
// answers 429 with Retry-After on every way in (sync, async, the function
// origin) once the minute's calls are spent; maxConcurrent answers 429 while
// that many executions run and frees the slot when a call ends, also by an
// error or a timeout, and an async call waits for a slot instead of failing.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../helpers/cli.ts';
import { startTestPlatform, type TestPlatform, type TestResponse } from '../helpers/platform.ts';

const CODE = `exports.handler = async (e) => {
  await new Promise((r) => setTimeout(r, Number(e.ms ?? 0)));
  if (e.fail) throw new Error('asked to fail');
  return { ok: true };
};`;

describe('quotas per namespace (embedded)', () => {
  let tp: TestPlatform;
  const as = (ns: string) => ({ 'x-nimbus-namespace': ns });
  const call = (ns: string, method: string, p: string, body?: unknown) => tp.request(method, p, body, as(ns));
  const deploy = (ns: string, name: string, config: Record<string, unknown> = {}, code = CODE) =>
    call(ns, 'PUT', `/v1/functions/${name}`, { runtime: 'nodejs', code, ...config });
  const invoke = (ns: string, name: string, event: unknown = {}, query = '') =>
    call(ns, 'POST', `/v1/functions/${name}/invoke${query}`, event);
  const setQuotas = async (ns: string, quotas: Record<string, number | null>) => {
    const r = await tp.request('PATCH', `/v1/namespaces/${ns}`, { quotas });
    assert.equal(r.status, 200, r.text);
    return r.json;
  };
  const usage = async (ns: string) => (await tp.request('GET', `/v1/namespaces/${ns}`)).json.usage;
  const throttled = (r: TestResponse, quota: string, ns: string) => {
    assert.equal(r.status, 429, r.text);
    assert.equal(r.json.error.code, 'throttled');
    assert.ok(r.json.error.message.includes(quota) && r.json.error.message.includes(`"${ns}"`), r.text);
    const retryAfter = Number(r.headers.get('retry-after'));
    assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${r.headers.get('retry-after')}`);
    return retryAfter;
  };

  before(async () => {
    tp = await startTestPlatform();
    for (const name of ['team-q', 'team-d']) {
      const r = await tp.request('POST', '/v1/namespaces', {
        name,
        ...(name === 'team-d' ? { quotas: { maxFunctions: 2, maxMemoryMb: 256 } } : {}),
      });
      assert.equal(r.status, 201, r.text);
    }
  });
  after(() => tp?.close());

  it('size quotas: a deploy over maxMemoryMb or maxFunctions is a 400 naming the quota, and nothing is stored', async () => {
    const big = await deploy('team-d', 'one', { memoryMb: 512 });
    assert.equal(big.status, 400, big.text);
    assert.match(big.json.error.message, /memoryMb 512 is over namespace "team-d"'s quota maxMemoryMb \(256\)/);
    assert.equal((await call('team-d', 'GET', '/v1/functions/one')).status, 404, 'nothing stored');
    assert.equal((await deploy('team-d', 'one', { memoryMb: 256 })).status, 201);
    assert.equal((await deploy('team-d', 'two')).status, 201, 'the default memory (256) is within the quota');
    const third = await deploy('team-d', 'three');
    assert.equal(third.status, 400, third.text);
    assert.match(third.json.error.message, /namespace "team-d" is at its quota maxFunctions \(2 functions\)/);
    assert.equal((await call('team-d', 'GET', '/v1/functions/three')).status, 404, 'nothing stored');
    assert.equal((await call('team-d', 'GET', '/v1/functions')).json.functions.length, 2);
    const grown = await deploy('team-d', 'one', { memoryMb: 256, env: { CHANGED: '1' } });
    assert.equal(grown.status, 200, `a new version of an existing function is not a new function: ${grown.text}`);
    const upd = await deploy('team-d', 'one', { memoryMb: 1024 });
    assert.equal(upd.status, 400, 'an update over maxMemoryMb is refused too');
    assert.equal((await deploy('default', 'three')).status, 201, "another namespace is not held to team-d's quotas");
    const warm = await call('team-d', 'POST', '/v1/functions/two/sandboxes');
    assert.equal(warm.status, 201, warm.text);
    const resize = await call('team-d', 'PATCH', `/v1/sandboxes/${warm.json.id}`, { memoryMb: 2048 });
    assert.equal(resize.status, 400, `a resize cannot pass maxMemoryMb either: ${resize.text}`);
    assert.match(resize.json.error.message, /quota maxMemoryMb \(256\); resize sandbox/);
    const kept = (await call('team-d', 'GET', '/v1/sandboxes')).json.sandboxes.find((x: any) => x.id === warm.json.id);
    assert.equal(kept?.memoryMb, 256);
    const raised = await setQuotas('team-d', { maxFunctions: 3, maxMemoryMb: null });
    assert.deepEqual(raised.quotas, { maxFunctions: 3 });
    assert.equal(raised.usage.functions, 2);
    assert.equal((await deploy('team-d', 'three', { memoryMb: 1024 })).status, 201, 'the raised quota holds at once');
  });

  it('PATCH checks its input: 400 for a bad value or an unknown quota, 404 for an unknown namespace', async () => {
    const bad = await tp.request('PATCH', '/v1/namespaces/team-q', { quotas: { maxConcurrent: 0 } });
    assert.equal(bad.status, 400, bad.text);
    assert.match(bad.json.error.message, /maxConcurrent/);
    const unknown = await tp.request('PATCH', '/v1/namespaces/team-q', { quotas: { maxCats: 3 } });
    assert.equal(unknown.status, 400, unknown.text);
    assert.match(unknown.json.error.message, /maxCats/);
    assert.equal((await tp.request('PATCH', '/v1/namespaces/nobody', { quotas: {} })).status, 404);
    assert.deepEqual((await tp.request('GET', '/v1/namespaces/team-q')).json.quotas, {}, 'nothing changed');
  });

  it('nimbus namespace quotas shows them with usage and changes them (a number sets one, none removes it)', async () => {
    const env = { NIMBUS_URL: tp.url, NIMBUS_API_KEY: '', NIMBUS_NAMESPACE: '' };
    const set = await runCli(['namespace', 'quotas', 'team-q', '--max-functions', '50', '--max-memory-mb', '512'], env);
    assert.equal(set.code, 0, set.stderr);
    const shown = JSON.parse(set.stdout);
    assert.deepEqual(shown.quotas, { maxFunctions: 50, maxMemoryMb: 512 });
    assert.deepEqual(Object.keys(shown.usage).sort(), ['functions', 'invocationsThisMinute', 'running']);
    const removed = await runCli(['namespace', 'quotas', 'team-q', '--max-functions', 'none'], env);
    assert.deepEqual(JSON.parse(removed.stdout).quotas, { maxMemoryMb: 512 });
    const bad = await runCli(['namespace', 'quotas', 'team-q', '--max-concurrent', 'lots'], env);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--max-concurrent takes a whole number or "none"/);
    const refused = await runCli(['namespace', 'quotas', 'team-q', '--max-concurrent', '0'], env);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /bad_request: .*maxConcurrent/);
    await setQuotas('team-q', { maxMemoryMb: null });
  });

  it('maxConcurrent: 429 with Retry-After while that many run; an end by success, error or timeout frees the slot', async () => {
    assert.equal((await deploy('team-q', 'slow')).status, 201);
    assert.equal((await deploy('team-q', 'stuck', { timeoutMs: 300 })).status, 201);
    await setQuotas('team-q', { maxConcurrent: 2 });
    const running = [invoke('team-q', 'slow', { ms: 2500 }), invoke('team-q', 'slow', { ms: 2500 })];
    for (let i = 0; (await usage('team-q')).running < 2; i++) {
      assert.ok(i < 100, 'both calls started');
      await new Promise((r) => setTimeout(r, 50));
    }
    throttled(await invoke('team-q', 'slow'), 'maxConcurrent', 'team-q');
    throttled(await tp.fnRequest('GET', '/fn/slow', undefined, as('team-q')), 'maxConcurrent', 'team-q');
    assert.equal((await invoke('default', 'three')).status, 200, 'another namespace runs meanwhile');
    for (const r of await Promise.all(running)) assert.equal(r.status, 200, r.text);
    assert.equal((await usage('team-q')).running, 0);
    assert.equal((await invoke('team-q', 'slow', { fail: true })).status, 502);
    assert.equal((await invoke('team-q', 'stuck', { ms: 5000 })).status, 504);
    assert.equal((await usage('team-q')).running, 0, 'an error and a timeout gave their slots back');
    assert.equal((await invoke('team-q', 'slow')).status, 200);
  });

  it('maxConcurrent: an async call accepted while the slots are taken waits and runs after', async () => {
    await setQuotas('team-q', { maxConcurrent: 1 });
    const busy = invoke('team-q', 'slow', { ms: 2000 });
    for (let i = 0; (await usage('team-q')).running < 1; i++) {
      assert.ok(i < 100, 'the sync call started');
      await new Promise((r) => setTimeout(r, 50));
    }
    const accepted = await invoke('team-q', 'slow', {}, '?async=1');
    assert.equal(accepted.status, 202, accepted.text);
    const sync = await busy;
    assert.equal(sync.status, 200);
    let record = (await call('team-q', 'GET', `/v1/activations/${accepted.json.activationId}`)).json;
    for (let i = 0; ['queued', 'running'].includes(record.status); i++) {
      assert.ok(i < 300, `the async call ran: ${JSON.stringify(record)}`);
      await new Promise((r) => setTimeout(r, 50));
      record = (await call('team-q', 'GET', `/v1/activations/${accepted.json.activationId}`)).json;
    }
    assert.equal(record.status, 'success', JSON.stringify(record));
    const syncRecord = (await call('team-q', 'GET', `/v1/activations/${sync.headers.get('x-nimbus-activation-id')}`))
      .json;
    assert.ok(String(record.startedAt) >= String(syncRecord.endedAt), 'the async call ran once the slot was free');
  });

  it('invocationsPerMinute: 429 with Retry-After on sync, async and the function origin once spent', async () => {
    await setQuotas('team-q', { maxConcurrent: null, invocationsPerMinute: 3 });
    // Fixed minute windows: start early enough in a minute that the test ends in it.
    const left = 60_000 - (Date.now() % 60_000);
    if (left < 15_000) await new Promise((r) => setTimeout(r, left + 100));
    assert.equal((await invoke('team-q', 'slow')).status, 200);
    assert.equal((await invoke('team-q', 'slow', {}, '?async=1')).status, 202);
    assert.equal((await tp.fnRequest('GET', '/fn/slow', undefined, as('team-q'))).status, 200);
    const retryAfter = throttled(await invoke('team-q', 'slow'), 'invocationsPerMinute', 'team-q');
    assert.ok(retryAfter <= Math.ceil((60_000 - (Date.now() % 60_000)) / 1000) + 1, 'until the next minute');
    throttled(await invoke('team-q', 'slow', {}, '?async=1'), 'invocationsPerMinute', 'team-q');
    throttled(await tp.fnRequest('GET', '/fn/slow', undefined, as('team-q')), 'invocationsPerMinute', 'team-q');
    assert.equal((await invoke('default', 'three')).status, 200, 'another namespace has its own count');
    assert.equal((await usage('team-q')).invocationsThisMinute, 3);
  });
});
