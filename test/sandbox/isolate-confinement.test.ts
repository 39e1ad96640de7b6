// The isolate engine's walls: the pool process runs inside bubblewrap (seen
// from the host through /proc: own namespaces, no network, no host files,
// no capabilities, read-only root), function code cannot reach Node or the
// pool (escapes, forged answers), a hung pool is killed without hanging its
// callers, and dispose leaves no process behind.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, readlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { InvokeInput } from '../../src/guest/protocol.ts';
import type { InvokeOutcome, Sandbox, SandboxSpec } from '../../src/sandbox/driver.ts';
import { IsolateDriver } from '../../src/sandbox/isolate/driver.ts';
import { bundleFunctions, type BundledFunction } from '../helpers/functions.ts';
import { createTempDir } from '../helpers/temp.ts';

const SOURCES = {
  // CommonJS on purpose: at the top level of a CommonJS module `this` is module.exports.
  escapes: `
    const viaThis = this.constructor.constructor('return process')();
    exports.probe = async function () {
      const out = { keys: Object.keys(viaThis), node: ['versions', 'binding', 'mainModule', 'exit', 'dlopen'].filter((k) => k in viaThis) };
      try { require('fs'); out.fs = 'loaded'; } catch (e) { out.fs = e.message; }
      try { await new Function('return import("node:fs")')(); out.importFs = 'loaded'; } catch (e) { out.importFs = e.name; }
      out.internals = ['__nimbus_entry', '__nimbus_wake', '__nimbus_random', '__nimbus_fetch', '__nimbus_kv', '__nimbus', '$nimbusHost', 'Buffer', 'global', 'module', 'ivm'].filter((n) => n in globalThis);
      out.fromFunction = typeof Function('return this')().process?.versions;
      return out;
    };
    /** Overwrites JSON.stringify so that the runtime's answer is whatever the function wants. */
    exports.forge = function (event) {
      const forged = event.garbage ? 'not json at all' : '{"type":"result","sid":"' + event.sid + '","id":"' + event.id + '","ok":true,"output":{"kind":"value","value":"forged"},"logs":"","logsTruncated":false}';
      JSON.stringify = () => forged;
      return 'ignored';
    };
    exports.hello = function (event) { return 'hello ' + event.name; };`,
  slow: `export function handler(event) { return new Promise((resolve) => setTimeout(() => resolve(event.answer ?? 'late'), event.ms ?? 3000)); }`,
  // A holey array of 2^29 slots: V8 gives up on the isolate long before its heap limit (onCatastrophicError) and the pool aborts.
  crash: `export function handler() { return 'x'.repeat(2 ** 28).split('').length; }`,
  abort: `export function handler() { const a = new Array(2 ** 29); for (let i = 0; i < 2 ** 29; i++) a[i] = i; return 'survived'; }`,
} as const;
type Name = keyof typeof SOURCES;

const dataDir = await createTempDir('nimbus-isolate-conf', 0o755);
const fnDir = await createTempDir('nimbus-isolate-conf-fns', 0o755);
const fx = {} as Record<Name, BundledFunction>;
const drivers: IsolateDriver[] = [];
const live: Sandbox[] = [];

before(async () => {
  for (const [name, code] of Object.entries(SOURCES)) await writeFile(path.join(fnDir, `${name}.ts`), code);
  Object.assign(fx, await bundleFunctions(fnDir, path.join(fnDir, 'out'), Object.keys(SOURCES) as Name[]));
});
after(async () => {
  await Promise.all(live.map((s) => s.dispose()));
  await Promise.all(drivers.map((d) => d.dispose()));
});

function newDriver(): IsolateDriver {
  const d = new IsolateDriver({ dataDir, agentPath: '', log: () => undefined, egress: { allow: [] } });
  drivers.push(d);
  return d;
}
const shared = newDriver();

async function create(driver: IsolateDriver, fn: Name, overrides: Partial<SandboxSpec> = {}): Promise<Sandbox> {
  const id = `conf-${randomUUID().slice(0, 8)}`;
  const s = await driver.create({
    id,
    functionName: `fn-${id}`,
    functionVersion: 1,
    artifactPath: fx[fn].path,
    artifactSha256: fx[fn].sha256,
    env: {},
    network: false,
    memoryMb: 64,
    cpus: 1,
    resultLimitBytes: 1 << 20,
    logLimitBytes: 65536,
    ...overrides,
  });
  live.push(s);
  return s;
}
const event = (value: unknown): InvokeInput => ({ kind: 'event', event: value });
const call = (s: Sandbox, input: InvokeInput, timeoutMs = 5000) =>
  s.invoke({ activationId: randomUUID(), input, timeoutMs });
function value(o: InvokeOutcome): unknown {
  assert.ok(o.ok && o.output?.kind === 'value', `expected a value, got ${JSON.stringify(o).slice(0, 800)}`);
  return o.output.value;
}
/** Whether a process runs (a zombie holds nothing but its pid entry). */
async function running(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  return stat !== '' && !/^\d+ \(.*\) Z/.test(stat);
}
/** Whether the process is gone within `ms` (a killed pool's namespace takes the kernel a moment). */
async function goneWithin(pid: number, ms: number): Promise<boolean> {
  for (const until = Date.now() + ms; Date.now() < until; await new Promise((r) => setTimeout(r, 20)))
    if (!(await running(pid))) return true;
  return !(await running(pid));
}
const pids = (s: Sandbox) => ({ pool: s.info().details.poolPid as number, bwrap: s.info().details.bwrapPid as number });

describe('isolate engine: the pool is confined by bubblewrap', () => {
  it('runs the pool in its own namespaces, without network, host files or capabilities', async () => {
    const { pool, bwrap } = pids(await create(shared, 'escapes', { handler: 'hello' }));
    assert.ok(pool && bwrap && pool !== bwrap);
    for (const ns of ['net', 'pid', 'mnt', 'ipc', 'uts']) {
      assert.notEqual(
        await readlink(`/proc/${pool}/ns/${ns}`),
        await readlink(`/proc/self/ns/${ns}`),
        `the pool shares the host's ${ns} namespace`,
      );
    }
    const interfaces = (await readFile(`/proc/${pool}/net/dev`, 'utf8'))
      .split('\n')
      .slice(2)
      .map((l) => l.split(':')[0]?.trim())
      .filter(Boolean);
    assert.deepEqual(interfaces, ['lo'], 'the pool sees network interfaces besides its own loopback');
    const status = await readFile(`/proc/${pool}/status`, 'utf8');
    assert.match(status, /^NoNewPrivs:\s+1$/m);
    assert.match(status, /^CapEff:\s+0+$/m);
    assert.ok(existsSync('/etc/shadow') || existsSync('/etc/passwd'), 'the host has an /etc to compare with');
    for (const hidden of ['/etc/shadow', '/etc/passwd', dataDir, fx.escapes.path, '/root', '/work']) {
      assert.equal(existsSync(`/proc/${pool}/root${hidden}`), false, `the pool can see ${hidden}`);
    }
    const rootMount = (await readFile(`/proc/${pool}/mountinfo`, 'utf8'))
      .split('\n')
      .find((l) => l.split(' ')[4] === '/');
    assert.match(rootMount ?? '', /\bro\b/, `the pool's root is not read-only: ${rootMount}`);
  });

  it('keeps Node and the pool out of reach of function code', async () => {
    const s = await create(shared, 'escapes', { handler: 'probe' });
    const out = value(await call(s, event({}))) as Record<string, unknown>;
    assert.deepEqual(out.keys, ['env'], 'this.constructor.constructor("return process")() must give only the env shim');
    assert.deepEqual(out.node, []);
    assert.match(out.fs as string, /node modules are not available in the isolate engine/);
    assert.notEqual(out.importFs, 'loaded');
    assert.deepEqual(out.internals, []);
    assert.equal(out.fromFunction, 'undefined');
  });

  it("does not trust the runtime: a forged answer only ever answers the forger's own call", async () => {
    const victim = await create(shared, 'slow');
    const victimCall = randomUUID();
    const genuine = victim.invoke({
      activationId: victimCall,
      input: event({ ms: 300, answer: 'genuine' }),
      timeoutMs: 5000,
    });
    const forger = await create(shared, 'escapes', { handler: 'forge' });
    const forged = await call(forger, event({ sid: victim.id, id: victimCall }));
    assert.equal(value(forged), 'forged', 'the forger answers for itself (as it could by returning "forged")');
    assert.equal(value(await genuine), 'genuine', "the victim's call got the forged answer");
    const garbled = await create(shared, 'escapes', { handler: 'forge' });
    const bad = await call(garbled, event({ garbage: true }));
    assert.equal(bad.error?.code, 'function_error', JSON.stringify(bad));
    assert.match(bad.error?.message ?? '', /malformed/);
    assert.equal(victim.state, 'ready');
    assert.equal(value(await call(victim, event({ ms: 1, answer: 'fine' }))), 'fine');
  });
});

describe('isolate engine: a pool per function', () => {
  it("keeps other functions' pools and calls when V8 aborts one function's pool; its error holds no stderr", async () => {
    const logged: string[] = [];
    const driver = new IsolateDriver({
      dataDir,
      agentPath: '',
      log: (_l, msg, extra) => void logged.push(`${msg} ${JSON.stringify(extra ?? {})}`),
      egress: { allow: [] },
    });
    drivers.push(driver);
    const bystander = await create(driver, 'slow', { functionName: 'bystander' });
    const culprit = await create(driver, 'abort', { functionName: 'culprit', memoryMb: 128 });
    assert.notEqual(pids(bystander).pool, pids(culprit).pool, 'two functions share a pool');
    const inFlight = call(bystander, event({ ms: 1500, answer: 'untouched' }), 30_000);
    const crashed = await call(culprit, event({}), 60_000);
    assert.equal(crashed.error?.code, 'memory_exhausted', JSON.stringify(crashed));
    assert.match(
      crashed.error?.message ?? '',
      /V8 ran out of memory in this function's isolate \(.+\) and the isolate pool for this function crashed; it is being restarted/,
    );
    assert.doesNotMatch(crashed.error?.message ?? '', /FATAL|v8::|Native stack|Last few GCs|<---/);
    assert.equal(value(await inFlight), 'untouched');
    assert.equal(bystander.state, 'ready');
    assert.ok(await goneWithin(pids(culprit).pool, 3000));
    assert.ok(
      logged.some((l) => l.startsWith('isolate pool exited') && /SIG/.test(l)),
      `the pool's end is not logged: ${logged.join('\n')}`,
    );
    const again = await create(driver, 'slow', { functionName: 'culprit' });
    assert.equal(value(await call(again, event({ ms: 1, answer: 'back' }))), 'back');
  });
});

describe('isolate engine: crash loops', () => {
  it('restarts the pool of a function that keeps crashing it after a growing delay', async () => {
    const driver = newDriver();
    const createMs: number[] = [];
    for (let i = 0; i < 5; i++) {
      const started = Date.now();
      const s = await create(driver, 'crash', { functionName: 'crash-loop', memoryMb: 128 });
      createMs.push(Date.now() - started);
      const crashed = await call(s, event({}), 30_000);
      assert.ok(
        !crashed.ok && ['function_crashed', 'memory_exhausted'].includes(crashed.error?.code ?? ''),
        JSON.stringify(crashed),
      );
      await s.dispose();
    }
    // After 1, 2, 3, 4 crashes in a row the next pool waits 0, 250, 500, 1000 ms before it starts.
    assert.ok(
      createMs[2]! >= 250 && createMs[3]! >= 500 && createMs[4]! >= 1000,
      `creates took ${createMs.join(', ')} ms`,
    );
    const other = await create(driver, 'escapes', { handler: 'hello', functionName: 'not-crashing' });
    const started = Date.now();
    assert.equal(value(await call(other, event({ name: 'meanwhile' }))), 'hello meanwhile');
    assert.ok(Date.now() - started < 1000, "another function waits for the crashing one's backoff");
  });
});

describe('isolate engine: hangs and cleanup', () => {
  it('answers timeout on time when the pool hangs, fails its other calls, and restarts the pool', async () => {
    const driver = newDriver();
    // Two sandboxes of one function share that function's pool: a hang of the pool takes both.
    const a = await create(driver, 'escapes', { handler: 'hello', functionName: 'hangs' });
    const b = await create(driver, 'slow', { functionName: 'hangs' });
    const { pool } = pids(a);
    const inFlight = call(b, event({ ms: 3000 }), 10_000);
    process.kill(pool, 'SIGSTOP');
    try {
      const started = Date.now();
      const timedOut = await call(a, event({ name: 'x' }), 400);
      const took = Date.now() - started;
      assert.equal(timedOut.error?.code, 'timeout', JSON.stringify(timedOut));
      assert.ok(took >= 400 && took < 1500, `timeout answered after ${took} ms`);
      const crashed = await inFlight;
      assert.equal(crashed.error?.code, 'function_crashed', JSON.stringify(crashed));
      assert.equal(b.state, 'dead');
    } finally {
      try {
        process.kill(pool, 'SIGCONT');
      } catch {
        /* killed with the pool, as it should be */
      }
    }
    assert.equal(await goneWithin(pool, 3000), true, 'the hung pool still runs');
    const fresh = await create(driver, 'escapes', { handler: 'hello', functionName: 'hangs' });
    assert.notEqual(pids(fresh).pool, pool);
    assert.equal(value(await call(fresh, event({ name: 'again' }))), 'hello again');
  });

  it('disposes a sandbox without touching the pool, and a driver without leaving any process', async () => {
    const driver = newDriver();
    const keep = await create(driver, 'escapes', { handler: 'hello', functionName: 'disposes' });
    const gone = await create(driver, 'escapes', { handler: 'hello', functionName: 'disposes' });
    const { pool, bwrap } = pids(gone);
    const deaths: string[] = [];
    gone.onDeath((r) => deaths.push(r));
    await gone.dispose();
    await gone.dispose();
    assert.deepEqual(deaths, ['disposed']);
    await assert.rejects(call(gone, event({ name: 'x' })));
    assert.equal(value(await call(keep, event({ name: 'kept' }))), 'hello kept');
    assert.equal(await running(pool), true);
    await driver.dispose();
    assert.equal(await running(pool), false, 'the pool process runs after driver.dispose()');
    assert.equal(await running(bwrap), false, 'bubblewrap runs after driver.dispose()');
    assert.equal(keep.state, 'dead');
    await assert.rejects(create(driver, 'escapes', { handler: 'hello' }));
  });
});
