// Engines side by side in one run: per engine, cold start (create → ready)
// p50/p99, warm invoke p50, memory per warm sandbox and warm sandboxes per GB.
// Drives the sandbox drivers directly, the way the invoker does.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DriverSet } from '../src/engine/drivers.ts';
import { bundleGuest } from '../src/sandbox/agent-bundle.ts';
import { ENGINE_KINDS, type EngineKind, type Sandbox } from '../src/sandbox/driver.ts';
import { percentile, table } from './lib.ts';
import { MIN_MEMORY_MB as MICROVM_MIN_MEMORY_MB } from '../src/sandbox/microvm/memory.ts';

/** Each engine measured at the smallest memory a function may ask of it. */
const smallest = (engine: string) => (engine === 'microvm' ? MICROVM_MIN_MEMORY_MB : 128);

const COLD = Number(process.env.BENCH_COLD_RUNS ?? 20);
const WARM = Number(process.env.BENCH_WARM_RUNS ?? 200);
const KEEP = Number(process.env.BENCH_KEEP ?? 5);
const only = process.env.BENCH_ENGINES?.split(',') as EngineKind[] | undefined;

const dir = await mkdtemp(path.join(os.tmpdir(), 'nimbus-bench-engines-'));
const artifactPath = path.join(dir, 'hello.cjs');
await writeFile(artifactPath, 'let n = 0; exports.handler = async (e) => ({ hello: e.name ?? "world", n: ++n });');
const drivers = new DriverSet({
  dataDir: dir,
  agentPath: await bundleGuest(path.join(dir, 'build')),
  log: () => undefined,
  egress: { allow: [] },
});
const spec = (memoryMb: number) => ({
  id: `sb-${randomUUID().slice(0, 8)}`,
  functionName: 'hello',
  functionVersion: 1,
  artifactPath,
  artifactSha256: 'bench',
  memoryMb,
  cpus: 1,
  env: {},
  network: false,
  resultLimitBytes: 6 * 1024 * 1024,
  logLimitBytes: 1024 * 1024,
});
/** microVM cold starts without the snapshot: a full boot to a ready agent. */
async function microvmBoots(): Promise<(string | number)[]> {
  const { MicrovmDriver } = await import('../src/sandbox/microvm/driver.ts');
  const booting = new MicrovmDriver(
    {
      dataDir: dir,
      agentPath: await bundleGuest(path.join(dir, 'build')),
      log: () => undefined,
      egress: { allow: [] },
    },
    { snapshots: false },
  );
  const boots: number[] = [];
  try {
    for (let i = 0; i < 2; i++) {
      const t = performance.now();
      const sb = await booting.create(spec(MICROVM_MIN_MEMORY_MB));
      boots.push(performance.now() - t);
      await sb.dispose();
    }
  } finally {
    await booting.dispose();
  }
  return [
    'microvm (boot, no snapshot)',
    percentile(boots, 50).toFixed(1),
    percentile(boots, 99).toFixed(1),
    '-',
    '-',
    '-',
    'full boot to a ready agent',
  ];
}

const rows: (string | number)[][] = [
  ['engine', 'cold p50 ms', 'cold p99 ms', 'warm p50 ms', 'MB per warm sandbox', 'warm sandboxes per GB', 'notes'],
];
try {
  const report = await drivers.report();
  for (const engine of ENGINE_KINDS) {
    if (only && !only.includes(engine)) continue;
    if (!report[engine].available) {
      rows.push([engine, '-', '-', '-', '-', '-', `unavailable: ${report[engine].reason}`]);
      continue;
    }
    const driver = await drivers.get(engine);
    const runs = engine === 'microvm' ? Math.min(COLD, 5) : COLD;
    const colds: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t = performance.now();
      const sb = await driver.create(spec(smallest(engine)));
      colds.push(performance.now() - t);
      await sb.dispose();
      await new Promise((r) => setTimeout(r, 100));
    }
    const kept: Sandbox[] = [];
    for (let i = 0; i < (engine === 'microvm' ? 2 : KEEP); i++) kept.push(await driver.create(spec(smallest(engine))));
    const warm: number[] = [];
    for (let i = 0; i < WARM; i++) {
      const t = performance.now();
      await kept[0]?.invoke({
        activationId: randomUUID(),
        input: { kind: 'event', event: { name: 'bench' } },
        timeoutMs: 60_000,
      });
      warm.push(performance.now() - t);
    }
    for (const sb of kept)
      await sb.invoke({ activationId: randomUUID(), input: { kind: 'event', event: {} }, timeoutMs: 60_000 });
    const mems = (await Promise.all(kept.map((s) => s.memoryUsageMb()))).filter((m): m is number => m !== undefined);
    const info = kept[0]?.info().details ?? {};
    // A microVM's cost to the host is its QEMU process, not the memory node uses inside the guest.
    const hostMb = kept.map((s) => Number(s.info().details.qemuRssMb)).filter((m) => Number.isFinite(m));
    const sample = engine === 'microvm' && hostMb.length ? hostMb : mems;
    const mb = sample.length ? sample.reduce((a, b) => a + b, 0) / sample.length : NaN;
    const notes =
      engine === 'microvm'
        ? `${info.accelerator}; start: ${info.start}; QEMU RSS ${Math.round(Number(info.qemuRssMb))} MB`
        : '';
    rows.push([
      engine,
      percentile(colds, 50).toFixed(1),
      percentile(colds, 99).toFixed(1),
      percentile(warm, 50).toFixed(2),
      mb.toFixed(1),
      Math.floor(1024 / mb),
      notes,
    ]);
    await Promise.all(kept.map((s) => s.dispose()));
    if (engine === 'microvm') rows.push(await microvmBoots());
  }
  console.log(
    `\nEngines on this machine (${os.cpus().length} cores): ${COLD} cold starts, ${WARM} warm invokes, memory of ${KEEP} warm sandboxes\n`,
  );
  console.log(table(rows));
} finally {
  await drivers.dispose();
  await rm(dir, { recursive: true, force: true });
}
