// Measures the isolate engine on this host and prints a table: pool start,
// cold start (create → ready) with and without a warm spare isolate, warm
// call latency, and memory per warm isolate (V8 heap, and the pool's RSS
// growth per isolate). Not a test: numbers depend on the machine's load.
// Run: npm run bench:isolate -- [isolates=50]
import { build } from 'esbuild';
import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Sandbox, SandboxSpec } from '../src/sandbox/driver.ts';
import { IsolateDriver } from '../src/sandbox/isolate/driver.ts';

const count = Number(process.argv[2] ?? 50);
const dir = await mkdtemp(path.join(tmpdir(), 'nimbus-isolate-measure-'));
await writeFile(path.join(dir, 'hello.ts'), 'export async function handler(event) { return { hello: event.name }; }\n');
await build({
  entryPoints: [path.join(dir, 'hello.ts')],
  outfile: path.join(dir, 'hello.cjs'),
  bundle: true,
  platform: 'node',
  format: 'cjs',
  logLevel: 'silent',
});
const artifactPath = path.join(dir, 'hello.cjs');
const artifactSha256 = createHash('sha256')
  .update(await readFile(artifactPath))
  .digest('hex');
const spec = (memoryMb: number): SandboxSpec => ({
  id: `m-${randomUUID().slice(0, 8)}`,
  functionName: 'hello',
  functionVersion: 1,
  artifactPath,
  artifactSha256,
  env: {},
  network: false,
  memoryMb,
  cpus: 1,
  resultLimitBytes: 1 << 20,
  logLimitBytes: 65536,
});

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => (s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN).toFixed(2);
  return `median ${at(0.5)}  p90 ${at(0.9)}  min ${at(0)}  (n=${s.length})`;
};
const rssMb = async (pid: number) =>
  Number(/VmRSS:\s+(\d+)/.exec(await readFile(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
const settle = () => new Promise((r) => setTimeout(r, 150));

const driver = new IsolateDriver({
  dataDir: path.join(dir, 'data'),
  agentPath: '',
  log: () => undefined,
  egress: { allow: [] },
});
const t0 = performance.now();
const probe = await driver.probe();
if (!probe.available) throw new Error(probe.reason);
const poolStartMs = performance.now() - t0;

async function coldStarts(n: number, memoryOf: (i: number) => number): Promise<{ host: number[]; pool: number[] }> {
  const host: number[] = [];
  const pool: number[] = [];
  for (let i = 0; i < n; i++) {
    await settle();
    const s = await driver.create(spec(memoryOf(i)));
    const d = s.info().details as { coldStartMs: number; initMs: number };
    host.push(d.coldStartMs);
    pool.push(d.initMs);
    await s.dispose();
  }
  return { host, pool };
}

await coldStarts(3, () => 64); // code cache and spares in place
const scratch = await coldStarts(20, (i) => 100 + i); // a new memory size each time: no spare exists
const spare = await coldStarts(20, () => 64);

const warm = await driver.create(spec(64));
const calls: number[] = [];
for (let i = 0; i < 300; i++) {
  const t = performance.now();
  await warm.invoke({ activationId: randomUUID(), input: { kind: 'event', event: { name: 'x' } }, timeoutMs: 5000 });
  calls.push(performance.now() - t);
}

const poolPid = warm.info().details.poolPid as number;
await settle();
const before = await rssMb(poolPid);
const many: Sandbox[] = [];
for (let i = 0; i < count; i++) many.push(await driver.create(spec(64)));
for (const s of many)
  await s.invoke({ activationId: randomUUID(), input: { kind: 'event', event: { name: 'x' } }, timeoutMs: 5000 });
await settle();
const after = await rssMb(poolPid);
await many[0]?.memoryUsageMb();
const heap = many[0]?.info().details.heap as { usedMb: number; totalMb: number; externalMb: number };

console.log(
  `isolate engine on ${process.version}, load average ${(await readFile('/proc/loadavg', 'utf8')).split(' ').slice(0, 3).join(' ')}`,
);
console.log(`pool start (bwrap + node + isolated-vm), first probe    ${poolStartMs.toFixed(1)} ms`);
console.log(`cold start, new isolate (host create→ready, ms)         ${stats(scratch.host)}`);
console.log(`   of which inside the pool (ms)                        ${stats(scratch.pool)}`);
console.log(`cold start, warm spare isolate (host create→ready, ms)  ${stats(spare.host)}`);
console.log(`   of which inside the pool (ms)                        ${stats(spare.pool)}`);
console.log(`warm call, host invoke→outcome (ms)                     ${stats(calls)}`);
console.log(
  `V8 heap of a warm isolate: used ${heap.usedMb.toFixed(2)} MB, total ${heap.totalMb.toFixed(2)} MB, external ${heap.externalMb.toFixed(2)} MB`,
);
console.log(
  `pool RSS ${before.toFixed(1)} → ${after.toFixed(1)} MB for ${count} more warm isolates: ${((after - before) / count).toFixed(2)} MB per isolate`,
);

await driver.dispose();
await rm(dir, { recursive: true, force: true });
