// Soak benchmark: SOAK_SECONDS (default 600) of mixed traffic at a bounded rate
// on the embedded platform, spawned as a child process: sync and async calls,
// calls that throw, calls that run past their timeout, and redeploys of a
// function that is being called. It samples the platform process's RSS, open
// descriptors (/proc/<pid>/fd), live sandboxes and store size, and at the end
// lists every call that did not reach a final status. The target: memory and
// descriptors flat (end within 10 % of the start, taken once warmed up) and
// nothing unfinished. Never part of `npm test`.
import { readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { percentile, spawnNimbus, table } from './lib.ts';

const SECONDS = Number(process.env.SOAK_SECONDS ?? 600);
/** Operations started per second, and most in flight at once (the bound). */
const RATE = Number(process.env.SOAK_RATE ?? 10);
const MAX_INFLIGHT = Number(process.env.SOAK_INFLIGHT ?? 8);
/** The start sample is taken once warmed up: after this share of the run. */
const WARMUP_SHARE = 0.1;
const SAMPLE_MS = Math.max(5_000, (SECONDS * 1000) / 20);
const FINAL = new Set([
  'success',
  'error',
  'timeout',
  'memory_exhausted',
  'crashed',
  'result_too_large',
  'dead_letter',
]);

const FUNCTIONS: Record<string, { code: string; timeoutMs?: number }> = {
  'soak-ok': { code: 'exports.handler = async (e) => ({ echo: e.n, pad: "x".repeat(2048) });' },
  'soak-err': {
    code: 'exports.handler = async (e) => { console.log("about to fail", e.n); throw new Error("planned failure " + e.n); };',
  },
  'soak-slow': {
    code: 'exports.handler = async () => { await new Promise((r) => setTimeout(r, 3000)); return "late"; };',
    timeoutMs: 300,
  },
};
const deployCode = (v: number) => `exports.handler = async (e) => ({ version: ${v}, n: e.n });`;

interface Sample {
  t: number | string;
  rssMb: number;
  heapMb: number;
  externalMb: number;
  fds: number;
  fdKinds: string;
  sandboxes: number;
  storeMb: number;
}

const dataDir = await mkdtemp(path.join(os.tmpdir(), 'nimbus-soak-'));
const { child, match } = await spawnNimbus([
  'serve',
  '--port',
  '0',
  '--functions-port',
  '0',
  '--data-dir',
  dataDir,
  '--log-level',
  'warn',
]);
const base = match[1] ?? '';
const pid = child.pid ?? 0;
const counts = new Map<string, number>();
const count = (key: string) => counts.set(key, (counts.get(key) ?? 0) + 1);
const latencies: number[] = [];
/** Every activation id handed out, with what was asked; checked at the end. */
const activations = new Map<string, string>();
const failures: string[] = [];

async function api(
  method: string,
  url: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(`${base}${url}`, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(60_000),
  });
}

async function deploy(name: string, code: string, timeoutMs?: number): Promise<void> {
  const res = await api('PUT', `/v1/functions/${name}`, {
    runtime: 'nodejs',
    code,
    maxSandboxes: 2,
    ...(timeoutMs ? { timeoutMs } : {}),
  });
  if (res.status !== 200 && res.status !== 201) throw new Error(`deploy ${name}: ${res.status} ${await res.text()}`);
}

/** A prom-client gauge of the platform process (its default metrics), in MB. */
const gaugeMb = (text: string, name: string) =>
  Number(new RegExp(`^nimbus_process_${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN) / 2 ** 20;

async function sample(t: number | string): Promise<Sample> {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssMb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
  const links = readdirSync(`/proc/${pid}/fd`).map((fd) => {
    try {
      return readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      return 'gone';
    }
  });
  const fds = links.length;
  // What the descriptors are, to tell client connections (sockets) from sandbox pipes and open files.
  const kind = (prefix: string) => links.filter((l) => l.startsWith(prefix)).length;
  const fdKinds = `${kind('socket:')}/${kind('pipe:')}/${kind('anon_inode:')}/${links.filter((l) => l.startsWith('/')).length}`;
  const storeMb =
    readdirSync(dataDir)
      .filter((f) => f.startsWith('nimbus.db'))
      .reduce((n, f) => n + statSync(path.join(dataDir, f)).size, 0) /
    2 ** 20;
  const metrics = await (await api('GET', '/metrics')).text();
  const sandboxes = ((await (await api('GET', '/v1/sandboxes')).json()) as { sandboxes: unknown[] }).sandboxes.length;
  return {
    t,
    rssMb,
    fds,
    fdKinds,
    storeMb,
    sandboxes,
    heapMb: gaugeMb(metrics, 'nodejs_heap_size_used_bytes'),
    externalMb: gaugeMb(metrics, 'nodejs_external_memory_bytes'),
  };
}

/** One operation: what it asks, and the HTTP statuses that are its expected answers. */
async function operation(n: number, version: { v: number }): Promise<void> {
  const r = Math.random();
  const call = async (kind: string, name: string, async: boolean, expect: number[]) => {
    const t = performance.now();
    const res = await api('POST', `/v1/functions/${name}/invoke${async ? '?async=1' : ''}`, { n });
    latencies.push(performance.now() - t);
    const text = await res.text();
    const id = res.headers.get('x-nimbus-activation-id');
    if (id) activations.set(id, kind);
    count(`${kind} ${res.status}`);
    if (!expect.includes(res.status))
      failures.push(
        `${kind} #${n} at ${Math.round(performance.now() / 1000)} s: HTTP ${res.status} ${text.slice(0, 200)}`,
      );
  };
  if (r < 0.35) return call('sync ok', 'soak-ok', false, [200]);
  if (r < 0.55) return call('async ok', 'soak-ok', true, [202]);
  if (r < 0.65) return call('sync error', 'soak-err', false, [502]);
  if (r < 0.7) return call('async error', 'soak-err', true, [202]);
  if (r < 0.78) return call('sync timeout', 'soak-slow', false, [504]);
  if (r < 0.95) return call('sync redeployed', 'soak-deploy', false, [200]);
  version.v++;
  await deploy('soak-deploy', deployCode(version.v));
  count('deploy');
}

const samples: Sample[] = [];
let inflight = 0;
let started = 0;
try {
  for (const [name, f] of Object.entries(FUNCTIONS)) await deploy(name, f.code, f.timeoutMs);
  const version = { v: 1 };
  await deploy('soak-deploy', deployCode(version.v));
  const t0 = Date.now();
  const end = t0 + SECONDS * 1000;
  let nextSample = t0 + WARMUP_SHARE * SECONDS * 1000;
  let skipped = 0;
  while (Date.now() < end) {
    if (Date.now() >= nextSample) {
      samples.push(await sample(Math.round((Date.now() - t0) / 1000)));
      nextSample += SAMPLE_MS;
    }
    if (inflight < MAX_INFLIGHT) {
      const n = started++;
      inflight++;
      void operation(n, version)
        .catch((e: Error) => failures.push(`#${n}: ${e.message}`))
        .finally(() => inflight--);
    } else skipped++;
    await new Promise((r) => setTimeout(r, 1000 / RATE));
  }
  while (inflight > 0) await new Promise((r) => setTimeout(r, 100));
  samples.push(await sample(`${Math.round((Date.now() - t0) / 1000)} end`));
  // Async calls may still be queued: give them a bounded time to finish.
  const unfinished = new Map<string, string>();
  const until = Date.now() + 60_000;
  let pending = [...activations.keys()];
  while (pending.length && Date.now() < until) {
    const still: string[] = [];
    for (const id of pending) {
      const rec = (await (await api('GET', `/v1/activations/${id}`)).json()) as { status?: string };
      if (!rec.status || !FINAL.has(rec.status)) still.push(id);
    }
    pending = still;
    if (pending.length) await new Promise((r) => setTimeout(r, 1000));
  }
  for (const id of pending) unfinished.set(id, activations.get(id) ?? '?');
  await new Promise((r) => setTimeout(r, 2000));
  samples.push(await sample(`${Math.round((Date.now() - t0) / 1000)} checked`));

  const first = samples[0]!;
  const last = samples.at(-2)!; // at the end of the traffic; the last sample follows the check's burst of record reads
  const growth = (a: number, b: number) => `${(((b - a) / a) * 100).toFixed(1)} %`;
  console.log(
    `\nSoak: ${SECONDS} s, ${RATE} operations/s, at most ${MAX_INFLIGHT} in flight (${skipped} ticks skipped at the bound), ${os.cpus().length} cores, ${new Date().toISOString()}\n`,
  );
  console.log(
    table([
      ['t s', 'RSS MB', 'JS heap MB', 'external MB', 'fds', 'socket/pipe/anon/file', 'sandboxes', 'store MB'],
      ...samples.map((s) => [
        s.t,
        s.rssMb.toFixed(1),
        s.heapMb.toFixed(1),
        s.externalMb.toFixed(1),
        s.fds,
        s.fdKinds,
        s.sandboxes,
        s.storeMb.toFixed(2),
      ]),
    ]),
  );
  console.log(
    `\nFrom the first sample to the end of the traffic: RSS ${first.rssMb.toFixed(1)} → ${last.rssMb.toFixed(1)} MB (${growth(first.rssMb, last.rssMb)}); JS heap ${first.heapMb.toFixed(1)} → ${last.heapMb.toFixed(1)} MB; fds ${first.fds} → ${last.fds} (${growth(first.fds, last.fds)}); target: within 10 %`,
  );
  console.log(
    `\nOperations: ${started}; activations checked: ${activations.size}; client round trip p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms\n`,
  );
  console.log(table([['operation HTTP status', 'count'], ...[...counts].sort().map(([k, v]) => [k, v])]));
  console.log(
    `\nUnexpected answers: ${failures.length}${failures.length ? `\n  ${failures.slice(0, 20).join('\n  ')}` : ''}`,
  );
  console.log(
    `Calls that did not reach a final status: ${unfinished.size}${
      unfinished.size
        ? `\n  ${[...unfinished]
            .slice(0, 20)
            .map(([id, k]) => `${id} (${k})`)
            .join('\n  ')}`
        : ''
    }`,
  );
} finally {
  child.kill();
  await new Promise((r) => child.once('exit', r).once('error', r));
  await rm(dataDir, { recursive: true, force: true, maxRetries: 10 }); // a build worker may still be writing as it ends
}
