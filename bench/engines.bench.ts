// Engines side by side in one run: per engine, the first call after deploy
// with no prewarmed spare (create → first answer, p50/p99, beside the target),
// cold start (create → ready) when the engine's spare serves it, warm invoke
// p50, host memory per warm sandbox (PSS, one method for every engine:
// engines-first.ts) and warm sandboxes per GB. Drives the sandbox drivers
// directly, the way the invoker does.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DriverSet } from '../src/engine/drivers.ts';
import { bundleGuest } from '../src/sandbox/agent-bundle.ts';
import { ENGINE_KINDS, type EngineKind, type Sandbox } from '../src/sandbox/driver.ts';
import { firstCalls, treePssMb } from './engines-first.ts';
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
/** First call after deploy, no spare: the targets on this machine, ms (p50). */
const TARGET_MS: Partial<Record<EngineKind, number>> = { isolate: 3, process: 10, container: 50 };
const spec = (memoryMb: number, functionName = 'hello') => ({
  id: `sb-${randomUUID().slice(0, 8)}`,
  functionName,
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
    '-',
    '-',
    '-',
    percentile(boots, 50).toFixed(1),
    percentile(boots, 99).toFixed(1),
    '-',
    '-',
    '-',
    'full boot to a ready agent',
  ];
}

const rows: (string | number)[][] = [
  [
    'engine',
    'first call p50 ms (no spare)',
    'p99',
    'target',
    'cold p50 ms (spare)',
    'cold p99',
    'warm p50 ms',
    'MB per warm sandbox (PSS)',
    'warm sandboxes per GB',
    'notes',
  ],
];
try {
  const report = await drivers.report();
  for (const engine of ENGINE_KINDS) {
    if (only && !only.includes(engine)) continue;
    if (!report[engine].available) {
      rows.push([engine, '-', '-', '-', '-', '-', '-', '-', '-', `unavailable: ${report[engine].reason}`]);
      continue;
    }
    const driver = await drivers.get(engine);
    const runs = engine === 'microvm' ? Math.min(COLD, 5) : COLD;
    // Stem cells refill in the background after each start: let that finish before the next.
    const first = await firstCalls(
      driver,
      spec,
      smallest(engine),
      runs,
      engine === 'microvm' ? 1000 : 400,
      engine !== 'microvm',
    );
    const colds: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t = performance.now();
      const sb = await driver.create(spec(smallest(engine)));
      colds.push(performance.now() - t);
      await sb.dispose();
      await new Promise((r) => setTimeout(r, 100));
    }
    // Memory before: the engine's spares and helpers running, no sandbox of this function
    // (the isolate engine's pool process for it is gone 2 s after its last sandbox).
    await new Promise((r) => setTimeout(r, 2_500));
    const before = await treePssMb();
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
    await new Promise((r) => setTimeout(r, 1_000));
    // Containers run outside this process's tree: found by their cgroups, which name the container.
    const markers = kept.flatMap((k) => [k.id, String(k.info().details.containerId ?? '')]).filter(Boolean);
    const mb = ((await treePssMb(markers)) - before) / kept.length;
    const info = kept[0]?.info().details ?? {};
    const notes = [
      engine === 'microvm' ? `${info.accelerator}; start: ${info.start}` : '',
      `first call create->ready p50 ${percentile(first.create, 50).toFixed(1)} ms`,
    ]
      .filter(Boolean)
      .join('; ');
    const target = TARGET_MS[engine];
    const firstP50 = percentile(first.firstAnswer, 50);
    rows.push([
      engine,
      firstP50.toFixed(1),
      percentile(first.firstAnswer, 99).toFixed(1),
      target === undefined ? '-' : `<= ${target} ${firstP50 <= target ? 'met' : 'MISSED'}`,
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
    `\nEngines on this machine (${os.cpus().length} cores): ${COLD} first calls and cold starts, ${WARM} warm invokes, memory of ${KEEP} warm sandboxes (PSS of the bench's process tree and the sandboxes' cgroups, after minus before, per sandbox)\n`,
  );
  console.log(table(rows));
} finally {
  await drivers.dispose();
  await rm(dir, { recursive: true, force: true });
}
