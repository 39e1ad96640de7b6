// The isolate engine (V8 isolates in a bubblewrap-confined pool): handler
// styles, env, console capture, Web globals checked against Node's own,
// limits (timeout, memory, result, logs) and concurrency. Confinement,
// escapes, pool hangs and cleanup are in isolate-confinement.test.ts.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { InvokeInput } from '../../src/guest/protocol.ts';
import type { InvokeOutcome, Sandbox, SandboxSpec } from '../../src/sandbox/driver.ts';
import { IsolateDriver } from '../../src/sandbox/isolate/driver.ts';
import { isNimbusError } from '../../src/shared/errors.ts';
import { bundleFunctions, type BundledFunction } from '../helpers/functions.ts';
import { createTempDir } from '../helpers/temp.ts';
import { URL_CASES } from '../guest/url-cases.ts';

const SOURCES = {
  styles: `
    export async function handler(event, context) {
      return { event, name: context.functionName, id: context.awsRequestId, left: context.getRemainingTimeInMillis() };
    }
    export function main(params) { return { greeting: 'hello ' + (params.name ?? 'world') }; }
    export default {
      async fetch(request, env) {
        const url = new URL(request.url);
        const body = { method: request.method, path: url.pathname, q: url.searchParams.get('q'), body: await request.text(), header: request.headers.get('x-test'), greeting: env.GREETING ?? null };
        return new Response(JSON.stringify(body), { status: 201, headers: { 'content-type': 'application/json', 'x-engine': 'isolate' } });
      },
    };`,
  env: `
    export function handler() {
      return { keys: Object.keys(process), frozen: Object.isFrozen(process), greeting: process.env.GREETING ?? null, home: process.env.HOME ?? null, versions: typeof process.versions };
    }`,
  faults: `
    export function spin() { for (;;) {} }
    export function hog() { const keep = []; for (;;) keep.push(Array.from({ length: 100000 }, (_, i) => ({ i, s: 'item ' + i }))); }
    export function bufferHog() { const keep = []; for (;;) keep.push(new Uint8Array(8 * 1024 * 1024).fill(1)); }
    export function big(event) { return 'x'.repeat(event.bytes); }
    export function chatty() { console.log('to %s: %d', 'stdout', 42, { deep: [1, { two: 2 }] }); console.error(new Error('shown with stack')); console.info('ünïcødé ✓'); return 'done'; }
    export function flood(event) { for (let i = 0; i < event.lines; i++) console.log('flood line ' + i + ' ' + 'y'.repeat(100)); return 'flooded'; }
    export function timerThrows() { setTimeout(() => { throw new Error('timer boom'); }, 5); return new Promise(() => {}); }
    export async function slow(event) {
      const startedAt = Date.now();
      console.log('start ' + event.tag);
      await new Promise((resolve) => setTimeout(resolve, 300));
      console.log('end ' + event.tag);
      return { tag: event.tag, startedAt, endedAt: Date.now() };
    }
    export async function hello(event) { return 'hello ' + event.name; }`,
  globals: `
    export async function handler(event) {
      const urls = event.urls.map(([input, base]) => {
        try {
          const u = new URL(input, base);
          return [u.href, u.origin, u.protocol, u.username, u.password, u.host, u.hostname, u.port, u.pathname, u.search, u.hash];
        } catch (e) { return e.name; }
      });
      const params = new URLSearchParams(event.query);
      params.append('added', 'a b&c=d');
      params.sort();
      const text = 'héllo 👋 wörld';
      const bytes = new TextEncoder().encode(text);
      const original = { d: new Date(5), m: new Map([[1, { x: [1, 2] }]]), s: new Set(['a']), u: new Uint16Array([1, 65535]) };
      original.self = original;
      const copy = structuredClone(original);
      const random = crypto.getRandomValues(new Uint8Array(64));
      let ticks = 0;
      await new Promise((resolve) => { const id = setInterval(() => { if (++ticks === 3) { clearInterval(id); resolve(); } }, 5); });
      const micro = await new Promise((resolve) => queueMicrotask(() => resolve('micro')));
      const headers = new Headers([['B', '2'], ['a', '1'], ['a', '3'], ['set-cookie', 'x=1'], ['set-cookie', 'y=2']]);
      return {
        urls, query: params.toString(), entries: [...params],
        encoded: Array.from(bytes), decoded: new TextDecoder().decode(bytes), b64: btoa('\\u00ff\\u0000ab'), unb64: atob('aGk='),
        clone: [copy !== original, copy.self === copy, copy.d.getTime(), copy.m.get(1).x, [...copy.s], Array.from(copy.u)],
        random: [random.length, random.some((b) => b !== 0)], uuid: crypto.randomUUID(),
        ticks, micro, headers: [...headers], cookies: headers.getSetCookie(), now: typeof performance.now(),
        missing: ['process.versions', 'Buffer', 'require.cache', 'setImmediate'].filter((n) => { try { return eval('typeof ' + n) !== 'undefined'; } catch { return false; } }),
      };
    }`,
  net: `
    export async function handler(event) {
      try {
        const r = await fetch(event.url, { method: 'POST', body: 'ping', headers: { 'x-from': 'isolate' } });
        return { status: r.status, body: await r.text(), server: r.headers.get('x-server'), url: r.url };
      } catch (e) { return { error: e.message }; }
    }`,
  'load-fail': `console.log('loading now'); throw new Error('load failure');`,
  'load-spin': `for (;;) {}`,
  // What the memory wrappers must keep: the WebAssembly and ArrayBuffer APIs as V8 has them, within memoryMb.
  wasm: `
    export async function handler() {
      const bytes = new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 0x05, 0x04, 0x01, 0x01, 0x01, 0x04, 0x07, 0x05, 0x01, 0x01, 0x6d, 0x02, 0x00]);
      const m = new WebAssembly.Memory({ initial: 1, maximum: 8 });
      const grown = m.grow(2);
      class Sub extends WebAssembly.Memory {}
      const sub = new Sub({ initial: 1, maximum: 1 });
      const module = new WebAssembly.Module(bytes);
      const instance = new WebAssembly.Instance(module, {});
      const { instance: viaPromise } = await WebAssembly.instantiate(bytes.buffer);
      const exported = instance.exports.m;
      const rab = new ArrayBuffer(8, { maxByteLength: 1024 });
      rab.resize(512);
      const moved = new ArrayBuffer(8, { maxByteLength: 2048 });
      const taken = moved.transfer();
      const errors = [];
      try { WebAssembly.Memory({ initial: 1 }); } catch (e) { errors.push(e.name); }
      try { new WebAssembly.Module(new Uint8Array([1, 2, 3])); } catch (e) { errors.push(e.name); }
      try { exported.grow(4); } catch (e) { errors.push(e.message.includes('memory refused') ? 'refused' : e.message); }
      return {
        grown, pages: m.buffer.byteLength / 65536, ctor: m.constructor === WebAssembly.Memory && Object.getPrototypeOf(m).constructor === WebAssembly.Memory,
        memoryInstance: m instanceof WebAssembly.Memory, sub: sub instanceof Sub && sub instanceof WebAssembly.Memory,
        moduleExports: WebAssembly.Module.exports(module), instance: instance instanceof WebAssembly.Instance && viaPromise instanceof WebAssembly.Instance,
        exportedPages: exported.buffer.byteLength / 65536, exportedMax: exported.grow(3),
        rab: [rab.resizable, rab.byteLength, rab.maxByteLength, rab instanceof ArrayBuffer, rab.constructor === ArrayBuffer],
        transfer: [moved.detached, taken.resizable, taken.maxByteLength, taken.byteLength, ArrayBuffer.prototype.transfer.name],
        plain: [new ArrayBuffer(4).byteLength, ArrayBuffer.isView(new Uint8Array(1)), new SharedArrayBuffer(8).byteLength],
        names: [WebAssembly.Memory.name, WebAssembly.Module.name, ArrayBuffer.name], streaming: typeof WebAssembly.instantiateStreaming,
        errors,
      };
    }`,
} as const;
type Name = keyof typeof SOURCES;

const dataDir = await createTempDir('nimbus-isolate-test', 0o755);
const fnDir = await createTempDir('nimbus-isolate-fns', 0o755);
const fx = {} as Record<Name, BundledFunction>;
// The operator allows the host's loopback, where the fetch test's server listens (the egress policy refuses it otherwise).
const driver = new IsolateDriver(
  { dataDir, agentPath: '', log: () => undefined, egress: { allow: ['127.0.0.1/32'] } },
  { initTimeoutMs: 1000 },
);
const live: Sandbox[] = [];

before(async () => {
  for (const [name, code] of Object.entries(SOURCES)) await writeFile(path.join(fnDir, `${name}.ts`), code);
  Object.assign(fx, await bundleFunctions(fnDir, path.join(fnDir, 'out'), Object.keys(SOURCES) as Name[]));
});
after(async () => {
  await Promise.all(live.map((s) => s.dispose()));
  await driver.dispose();
});

function spec(fn: Name, overrides: Partial<SandboxSpec> = {}): SandboxSpec {
  const id = `iso-${randomUUID().slice(0, 8)}`;
  return {
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
    logLimitBytes: 64 * 1024,
    ...overrides,
  };
}
async function create(fn: Name, overrides: Partial<SandboxSpec> = {}): Promise<Sandbox> {
  const sandbox = await driver.create(spec(fn, overrides));
  live.push(sandbox);
  return sandbox;
}
const event = (value: unknown): InvokeInput => ({ kind: 'event', event: value });
const call = (s: Sandbox, input: InvokeInput, timeoutMs = 5000) =>
  s.invoke({ activationId: randomUUID(), input, timeoutMs });
function value(o: InvokeOutcome): unknown {
  assert.ok(o.ok && o.output?.kind === 'value', `expected a value, got ${JSON.stringify(o).slice(0, 800)}`);
  return o.output.value;
}
function errorCode(o: InvokeOutcome): string {
  assert.ok(!o.ok && o.error, `expected an error, got ${JSON.stringify(o).slice(0, 800)}`);
  return o.error.code;
}

describe('isolate engine: functions', () => {
  it('probes available, naming bubblewrap and the pool', async () => {
    const a = await driver.probe();
    assert.equal(a.available, true, a.reason);
    assert.match(a.reason, /bubblewrap/);
    assert.equal(typeof a.details?.poolStartMs, 'number');
  });

  it('runs a Lambda handler(event, context)', async () => {
    const s = await create('styles', { handler: 'handler' });
    const out = value(await call(s, event({ n: 1 }), 3000)) as Record<string, unknown>;
    assert.deepEqual(out.event, { n: 1 });
    assert.equal(out.name, s.spec.functionName);
    assert.ok((out.left as number) > 0 && (out.left as number) <= 3000);
  });

  it('runs an OpenWhisk main(params)', async () => {
    const s = await create('styles', { handler: 'main' });
    assert.deepEqual(value(await call(s, event({ name: 'isolate' }))), { greeting: 'hello isolate' });
  });

  it('runs a Workers fetch(request, env) with an HTTP request, env as its argument', async () => {
    const s = await create('styles', { env: { GREETING: 'from env' } });
    const input: InvokeInput = {
      kind: 'http',
      request: {
        method: 'POST',
        url: '/fn/x/items?q=7',
        headers: { 'x-test': 'yes' },
        bodyBase64: Buffer.from('body ✓').toString('base64'),
      },
    };
    const o = await call(s, input);
    assert.ok(o.ok && o.output?.kind === 'http', JSON.stringify(o));
    assert.equal(o.output.response.status, 201);
    assert.equal(o.output.response.headers['x-engine'], 'isolate');
    assert.deepEqual(JSON.parse(Buffer.from(o.output.response.bodyBase64, 'base64').toString()), {
      method: 'POST',
      path: '/fn/x/items',
      q: '7',
      body: 'body ✓',
      header: 'yes',
      greeting: 'from env',
    });
  });

  it('hands Lambda code spec.env through a frozen process holding only env, not the host environment', async () => {
    const s = await create('env', { env: { GREETING: 'hi' } });
    assert.deepEqual(value(await call(s, event({}))), {
      keys: ['env'],
      frozen: true,
      greeting: 'hi',
      home: null,
      versions: 'undefined',
    });
  });

  it('captures console output per call, formatted like Node', async () => {
    const s = await create('faults', { handler: 'chatty' });
    const o = await call(s, event({}));
    assert.equal(value(o), 'done');
    assert.match(o.logs, /^to stdout: 42 \{ deep: \[ 1, \{ two: 2 \} \] \}\n/);
    assert.match(o.logs, /Error: shown with stack\n\s+at /);
    assert.match(o.logs, /ünïcødé ✓\n$/);
    assert.equal(o.logsTruncated, false);
  });

  it('caps logs at logLimitBytes with a marker', async () => {
    const s = await create('faults', { handler: 'flood', logLimitBytes: 2048 });
    const o = await call(s, event({ lines: 500 }));
    assert.equal(value(o), 'flooded');
    assert.equal(o.logsTruncated, true);
    assert.match(o.logs, /^flood line 0 [\s\S]*\[nimbus: log truncated, \d+ bytes dropped\]\n$/);
    assert.ok(Buffer.byteLength(o.logs) <= 2048 + 200);
  });

  it('refuses a result over resultLimitBytes and stays usable', async () => {
    const s = await create('faults', { handler: 'big', resultLimitBytes: 1024 });
    assert.equal(errorCode(await call(s, event({ bytes: 4096 }))), 'result_too_large');
    assert.equal(value(await call(s, event({ bytes: 10 }))), 'x'.repeat(10));
  });

  it('provides Web globals that agree with Node (URL, URLSearchParams, encodings, clone, crypto, timers, Headers)', async () => {
    const urls = URL_CASES;
    const s = await create('globals');
    const got = value(await call(s, event({ urls, query: '?b=2&a=1&a=0&sp=a+b%20c' }))) as Record<string, unknown>;
    const expected = urls.map(([input, base]) => {
      try {
        const u = new URL(input, base);
        return [
          u.href,
          u.origin,
          u.protocol,
          u.username,
          u.password,
          u.host,
          u.hostname,
          u.port,
          u.pathname,
          u.search,
          u.hash,
        ];
      } catch (e) {
        return (e as Error).name;
      }
    });
    assert.equal((got.urls as unknown[]).length, urls.length);
    (got.urls as unknown[]).forEach((u, i) => assert.deepEqual(u, expected[i], `URL ${JSON.stringify(urls[i])}`));
    const params = new URLSearchParams('?b=2&a=1&a=0&sp=a+b%20c');
    params.append('added', 'a b&c=d');
    params.sort();
    assert.equal(got.query, params.toString());
    assert.deepEqual(got.entries, [...params]);
    const text = 'héllo 👋 wörld';
    assert.deepEqual(got.encoded, [...Buffer.from(text)]);
    assert.equal(got.decoded, text);
    assert.equal(got.b64, btoa('\u00ff\u0000ab'));
    assert.equal(got.unb64, 'hi');
    assert.deepEqual(got.clone, [true, true, 5, [1, 2], ['a'], [1, 65535]]);
    assert.deepEqual(got.random, [64, true]);
    assert.match(got.uuid as string, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(got.ticks, 3);
    assert.equal(got.micro, 'micro');
    assert.deepEqual(got.headers, [
      ...new Headers([
        ['B', '2'],
        ['a', '1'],
        ['a', '3'],
        ['set-cookie', 'x=1'],
        ['set-cookie', 'y=2'],
      ]),
    ]);
    assert.deepEqual(got.cookies, ['x=1', 'y=2']);
    assert.equal(got.now, 'number');
    assert.deepEqual(got.missing, [], 'Node-only globals must not exist');
  });
});

describe('isolate engine: limits and concurrency', () => {
  it('stops an infinite loop at its timeout while another isolate keeps answering', async () => {
    const spinning = await create('faults', { handler: 'spin' });
    const hello = await create('faults', { handler: 'hello' });
    const deaths: string[] = [];
    spinning.onDeath((r) => deaths.push(r));
    const started = Date.now();
    const spin = call(spinning, event({}), 1000);
    for (let i = 0; i < 3; i++) {
      const t = Date.now();
      assert.equal(value(await call(hello, event({ name: String(i) }))), `hello ${i}`);
      assert.ok(Date.now() - t < 900, 'a call in another isolate waited for the spinning one');
    }
    assert.equal(errorCode(await spin), 'timeout');
    const took = Date.now() - started;
    assert.ok(took >= 950 && took < 3000, `timed out after ${took} ms`);
    assert.equal(spinning.state, 'dead');
    assert.equal(deaths.length, 1);
    await assert.rejects(call(spinning, event({})), (e: unknown) => isNimbusError(e) && e.code === 'unavailable');
    assert.equal(hello.state, 'ready');
    assert.equal(value(await call(hello, event({ name: 'after' }))), 'hello after');
  });

  it('ends a heap bomb with memory_exhausted; the pool and other isolates live on', async () => {
    const other = await create('faults', { handler: 'hello' });
    const poolPid = other.info().details.poolPid;
    const s = await create('faults', { handler: 'hog', memoryMb: 32 });
    assert.equal(errorCode(await call(s, event({}), 20_000)), 'memory_exhausted');
    assert.equal(s.state, 'dead');
    const b = await create('faults', { handler: 'bufferHog', memoryMb: 32 });
    assert.equal(errorCode(await call(b, event({}), 20_000)), 'memory_exhausted');
    assert.equal(value(await call(other, event({ name: 'still' }))), 'hello still');
    assert.equal(other.info().details.poolPid, poolPid, 'the pool process was replaced');
  });

  it('runs overlapping calls in one isolate, each with its own logs', async () => {
    const s = await create('faults', { handler: 'slow' });
    const [a, b] = await Promise.all([call(s, event({ tag: 'A' })), call(s, event({ tag: 'B' }))]);
    const va = value(a) as { startedAt: number; endedAt: number };
    const vb = value(b) as { startedAt: number; endedAt: number };
    assert.ok(va.startedAt < vb.endedAt && vb.startedAt < va.endedAt, 'the calls did not overlap');
    assert.equal(a.logs, 'start A\nend A\n');
    assert.equal(b.logs, 'start B\nend B\n');
  });

  it('fails a call whose timer callback throws, and keeps the isolate', async () => {
    const s = await create('faults', { handler: 'timerThrows' });
    const o = await call(s, event({}));
    assert.equal(errorCode(o), 'function_error');
    assert.match(o.error?.message ?? '', /timer boom/);
    assert.equal(s.state, 'ready');
  });

  it('rejects create() with the load error and the logs written while loading', async () => {
    await assert.rejects(
      create('load-fail'),
      (e: unknown) =>
        isNimbusError(e) &&
        e.code === 'function_error' &&
        /load failure/.test(e.message) &&
        /loading now/.test(String(e.details.logs)),
    );
  });

  it('rejects create() with timeout when the module never finishes loading', async () => {
    const started = Date.now();
    await assert.rejects(create('load-spin'), (e: unknown) => isNimbusError(e) && e.code === 'timeout');
    assert.ok(Date.now() - started < 3000);
    const s = await create('faults', { handler: 'hello' });
    assert.equal(value(await call(s, event({ name: 'next' }))), 'hello next');
  });

  it('reuses the code cache and a warm spare isolate for the next sandbox of a function', async () => {
    // One function: its sandboxes share the function's pool, where the spare is kept.
    const first = await create('faults', { handler: 'hello', memoryMb: 48, functionName: 'spare-fn' });
    assert.equal(first.info().details.spare, false, 'no spare of this size can exist yet');
    // The spare for 48 MB is made in the background after that create: the next creates take it once it is there.
    let details: Record<string, unknown> = {};
    for (
      const until = Date.now() + 10_000;
      details.spare !== true && Date.now() < until;
      await new Promise((r) => setTimeout(r, 50))
    ) {
      const next = await create('faults', { handler: 'hello', memoryMb: 48, functionName: 'spare-fn' });
      details = next.info().details;
      assert.equal(value(await call(next, event({ name: 'warm' }))), 'hello warm');
      const mb = await next.memoryUsageMb();
      assert.ok(mb !== undefined && mb > 0 && mb < 48, `memory use ${mb} MB`);
      await next.dispose();
    }
    assert.equal(details.spare, true, 'no create took a spare isolate');
    assert.equal(details.codeCache, 'hit');
    assert.equal(typeof details.coldStartMs, 'number');
  });
});

describe('isolate engine: WebAssembly and buffers within memoryMb', () => {
  it('keeps the WebAssembly and ArrayBuffer APIs working under the memory wrappers', async () => {
    const s = await create('wasm');
    assert.deepEqual(value(await call(s, event({}))), {
      grown: 1,
      pages: 3,
      ctor: true,
      memoryInstance: true,
      sub: true,
      moduleExports: [{ name: 'm', kind: 'memory' }],
      instance: true,
      exportedPages: 1,
      exportedMax: 1,
      rab: [true, 512, 1024, true, true],
      transfer: [true, true, 2048, 8, 'transfer'],
      plain: [4, true, 8],
      names: ['Memory', 'Module', 'ArrayBuffer'],
      streaming: 'undefined',
      errors: ['TypeError', 'CompileError', 'refused'],
    });
  });
});

describe('isolate engine: fetch', () => {
  let server: http.Server;
  let url = '';
  before(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () =>
        res.writeHead(200, { 'x-server': 'host' }).end(`got ${req.method} ${body} from ${req.headers['x-from']}`),
      );
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/echo`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  it('has no fetch without network: true', async () => {
    const s = await create('net');
    assert.match((value(await call(s, event({ url }))) as { error: string }).error, /without network access/);
  });

  it('fetches through the host with network: true (the pool itself has no network)', async () => {
    const s = await create('net', { network: true });
    assert.deepEqual(value(await call(s, event({ url }))), {
      status: 200,
      body: 'got POST ping from isolate',
      server: 'host',
      url,
    });
  });
});
