// What happens when functions misbehave: errors, timeouts, crashes, memory,
// log floods, huge results and overload, through the real HTTP path. Each
// failure keeps its activation record and the platform keeps serving.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { invokerSubject } from '../../src/engine/messages.ts';
import { newActivationId } from '../../src/scheduler/async-scheduler.ts';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.ts';

describe('failures (embedded, process engine)', () => {
  let t: TestPlatform;
  before(async () => {
    t = await startTestPlatform({ logLimitBytes: 64 * 1024, resultLimitBytes: 256 * 1024, waitQueueLimit: 1 });
    assert.equal((await t.deploy('hello', 'exports.handler = async () => "hello"')).status, 201);
  });
  after(() => t.close());

  const record = async (r: { headers: Headers }) =>
    (await t.request('GET', `/v1/activations/${r.headers.get('x-nimbus-activation-id')}`)).json;

  it('a thrown error is a 502 with the message, and the record keeps message and stack', async () => {
    await t.deploy(
      'thrower',
      'exports.handler = async () => { console.log("before"); throw new Error("boom at line 1"); }',
    );
    const r = await t.invoke('thrower');
    assert.equal(r.status, 502);
    assert.equal(r.json.error.code, 'function_error');
    assert.match(r.json.error.message, /boom at line 1/);
    const rec = await record(r);
    assert.equal(rec.status, 'error');
    assert.match(rec.error.stack, /Error: boom/);
    assert.match(rec.logs, /before/);
  });

  it('an infinite loop with timeoutMs 1000 is a 504 near one second, and the platform keeps serving', async () => {
    await t.deploy('spinner', 'exports.handler = async () => { for (;;) {} }', { timeoutMs: 1000 });
    const started = Date.now();
    const [spin, hello] = await Promise.all([
      t.invoke('spinner'),
      new Promise((r) => setTimeout(r, 200)).then(() => t.invoke('hello')),
    ]);
    const took = Date.now() - started;
    assert.equal(spin.status, 504);
    assert.equal(spin.json.error.code, 'timeout');
    assert.ok(took >= 1000 && took < 5000, `timed out after ${took} ms`);
    assert.equal(hello.status, 200, 'another function answered while one spun');
    assert.equal((await record(spin)).status, 'timeout');
    const again = await t.invoke('spinner');
    assert.equal(again.status, 504);
    assert.equal(again.headers.get('x-nimbus-cold-start'), 'true', 'a timed-out sandbox is never reused');
  });

  it('process.exit is a 502 and the next call gets a fresh sandbox', async () => {
    await t.deploy(
      'quitter',
      'let n = 0; exports.handler = async (e) => { n++; if (e.quit) process.exit(3); return n; }',
    );
    assert.equal((await t.invoke('quitter', {})).json, 1);
    const r = await t.invoke('quitter', { quit: true });
    assert.equal(r.status, 502);
    assert.equal(r.json.error.code, 'function_crashed');
    assert.match(r.json.error.message, /exit code 3/);
    assert.equal((await record(r)).status, 'crashed');
    const next = await t.invoke('quitter', {});
    assert.equal(next.status, 200);
    assert.equal(next.json, 1, 'module state starts over in a fresh sandbox');
    assert.equal(next.headers.get('x-nimbus-cold-start'), 'true');
  });

  it('a memory bomb ends as memory_exhausted', async () => {
    await t.deploy(
      'bomb',
      'exports.handler = async () => { const keep = []; for (;;) keep.push(new Array(1e5).fill({ a: Math.random() })); }',
      { memoryMb: 128 },
    );
    const r = await t.invoke('bomb');
    assert.equal(r.status, 502, r.text);
    assert.equal(r.json.error.code, 'memory_exhausted');
    assert.equal((await record(r)).status, 'memory_exhausted');
  });

  it('off-heap memory (Buffers) is caught by the RSS watchdog', async () => {
    await t.deploy(
      'buffers',
      'exports.handler = async () => { const keep = []; for (;;) { keep.push(Buffer.alloc(8 * 1024 * 1024, 1)); await new Promise(r => setImmediate(r)); } }',
      { memoryMb: 128 },
    );
    const r = await t.invoke('buffers');
    assert.equal(r.json.error.code, 'memory_exhausted', r.text);
  });

  it('a log flood is truncated with a marker', async () => {
    await t.deploy(
      'chatty',
      'exports.handler = async () => { for (let i = 0; i < 20000; i++) console.log("line " + i + " " + "x".repeat(40)); return "done"; }',
    );
    const r = await t.invoke('chatty');
    assert.equal(r.status, 200);
    const rec = await record(r);
    assert.equal(rec.logsTruncated, true);
    assert.ok(rec.logs.length < 80 * 1024);
    assert.match(rec.logs, /\[nimbus: log truncated, \d+ bytes dropped\]/);
    assert.match(rec.logs, /^line 0 /);
  });

  it('a result over the cap is an error, never silently truncated', async () => {
    await t.deploy('huge', 'exports.handler = async () => "y".repeat(1024 * 1024)');
    const r = await t.invoke('huge');
    assert.equal(r.status, 502);
    assert.equal(r.json.error.code, 'result_too_large');
    assert.match(r.json.error.message, /over the 262144-byte limit/);
  });

  it('answers 429 with Retry-After when the wait queue is full', async () => {
    await t.deploy(
      'slow',
      'exports.handler = async () => { await new Promise(r => setTimeout(r, 800)); return "slow"; }',
      { maxSandboxes: 1 },
    );
    const calls = await Promise.all(
      [0, 1, 2, 3].map((i) => new Promise((r) => setTimeout(r, i * 50)).then(() => t.invoke('slow'))),
    );
    const statuses = calls.map((c) => c.status).sort();
    assert.deepEqual(statuses, [200, 200, 429, 429]);
    const throttled = calls.find((c) => c.status === 429);
    assert.equal(throttled?.headers.get('retry-after'), '1');
    assert.equal(throttled?.json.error.code, 'throttled');
  });

  it('an error at module load is a 502 with the message and a record', async () => {
    await t.deploy('badinit', 'throw new Error("cannot start"); exports.handler = () => 1;');
    const r = await t.invoke('badinit');
    assert.equal(r.status, 502);
    assert.match(r.json.error.message, /cannot start/);
    assert.equal((await record(r)).status, 'error');
  });

  it('async invocations that keep failing are retried and end dead_letter', async () => {
    await t.deploy('flaky', 'exports.handler = async () => { throw new Error("always"); }');
    const r = await t.invoke('flaky', {}, '?async=1');
    const rec = await t.settled(r.json.activationId);
    assert.equal(rec.status, 'dead_letter');
    assert.equal(rec.attempts, 3);
    assert.match(String((rec.error as { message: string }).message), /always/);
  });
});

describe('async retries (embedded, process engine)', () => {
  let t: TestPlatform;
  before(async () => {
    t = await startTestPlatform();
  });
  after(() => t.close());

  it('the invoker stores a failed attempt that will be retried as queued with its error, and the last attempt as failed', async () => {
    await t.deploy('always-fails', 'exports.handler = async () => { throw new Error("nope"); }');
    const subject = invokerSubject(t.platform.config.invokerId);
    const run = async (attempt: number, retryable: boolean) => {
      const now = Date.now();
      const req = {
        activationId: newActivationId(),
        functionName: 'always-fails',
        functionVersion: 1,
        trigger: 'async',
        input: { kind: 'event', event: {} },
        acceptedAt: now,
        attempt,
        retryable,
        createdAt: new Date(now).toISOString(),
      };
      const reply = (await t.platform.bus.request(subject, req, 30_000)) as { activation: { id: string } };
      return (await t.request('GET', `/v1/activations/${reply.activation.id}`)).json;
    };
    const retried = await run(1, true);
    assert.equal(retried.status, 'queued');
    assert.equal(retried.attempts, 1);
    assert.match(String(retried.error?.message), /nope/);
    const last = await run(3, false);
    assert.equal(last.status, 'error');
    assert.match(String(last.error?.message), /nope/);
  });

  it('an async call that fails once and then succeeds ends success on its second attempt', async () => {
    await t.deploy(
      'second-time',
      'let calls = 0; exports.handler = async () => { if (++calls === 1) throw new Error("first call fails"); return "ok"; }',
    );
    const r = await t.invoke('second-time', {}, '?async=1');
    const done = await t.settled(r.json.activationId);
    assert.equal(done.status, 'success');
    assert.equal(done.attempts, 2);
    assert.equal(done.result, 'ok');
  });
});
