// microVM cold starts three ways, side by side in one run (issue 18): time
// from create() to the first answer of a function whose module top level
// takes a while (it builds a table), for
//   machine: today's path before function snapshots: restore the machine
//            state (no function), write the code in, load and init it;
//   function snapshot: map the RAM file of a VM saved after init (private,
//            copy-on-write) and restore its devices;
//   standby: resume a sandbox saved after its keep-alive (RAM streamed).
// The kinds alternate within each round so that load on the host falls on all.
// Run: scripts/node --import tsx bench/microvm-snapshots.bench.ts (BENCH_RUNS, default 8).
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { bundleGuest } from '../src/sandbox/agent-bundle.ts';
import type { Sandbox } from '../src/sandbox/driver.ts';
import { MicrovmDriver } from '../src/sandbox/microvm/driver.ts';
import { microvmSpec } from '../test/helpers/microvm-spec.ts';
import { percentile, table } from './lib.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 8);
const dir = await mkdtemp(path.join(os.tmpdir(), 'nimbus-bench-mvm-snap-'));
const artifactPath = path.join(dir, 'fn.cjs');
await writeFile(
  artifactPath,
  `const table = new Map(); for (let i = 0; i < 200000; i++) table.set('k' + i, i);
let n = 0; exports.handler = () => ({ n: ++n, size: table.size });`,
);
const ctx = {
  dataDir: dir,
  agentPath: await bundleGuest(path.join(dir, 'build')),
  log: () => undefined,
  egress: { allow: [] },
};
const withSnapshots = new MicrovmDriver(ctx);
const machineOnly = new MicrovmDriver(ctx, { functionSnapshots: false });
const spec = () => microvmSpec({ functionName: 'bench/snap', artifactPath, artifactSha256: 'bench' });
const firstAnswer = (sb: Sandbox) =>
  sb.invoke({ activationId: randomUUID(), input: { kind: 'event', event: {} }, timeoutMs: 60_000 });

async function timed(start: () => Promise<Sandbox>): Promise<{ ms: number; sandbox: Sandbox; start: unknown }> {
  const t = performance.now();
  const sandbox = await start();
  const outcome = await firstAnswer(sandbox);
  if (!outcome.ok) throw new Error(`the first call failed: ${JSON.stringify(outcome.error)}`);
  return { ms: performance.now() - t, sandbox, start: sandbox.info().details.start };
}

const times: Record<string, number[]> = { machine: [], 'function snapshot': [], standby: [] };
const standbyMb: number[] = [];
try {
  // Warm-up: the machine state, then the function snapshot, exist before anything is timed.
  const first = await withSnapshots.create(spec());
  await first.dispose();
  await withSnapshots.functionSnapshotsSettled();
  const snapDir = path.join(dir, 'microvm', 'function-snapshots');
  for (const name of await readdir(snapDir)) {
    const s = await stat(path.join(snapDir, name));
    console.log(
      `${name.split('.').pop()}: ${(s.size / 2 ** 20).toFixed(1)} MB long, ${((s.blocks * 512) / 2 ** 20).toFixed(1)} MB on disk`,
    );
  }
  for (let i = 0; i < RUNS; i++) {
    const machine = await timed(() => machineOnly.create(spec()));
    times.machine?.push(machine.ms);
    await machine.sandbox.dispose();
    const snap = await timed(() => withSnapshots.create(spec()));
    if (snap.start !== 'function-snapshot')
      throw new Error(`expected a function snapshot restore, got ${String(snap.start)}`);
    times['function snapshot']?.push(snap.ms);
    const standby = snap.sandbox.standby ? await snap.sandbox.standby() : undefined;
    if (!standby) throw new Error('no standby');
    const resumed = await timed(() => standby.resume());
    times.standby?.push(resumed.ms);
    standbyMb.push(standby.diskBytes / 2 ** 20);
    await resumed.sandbox.dispose();
  }
  const rows = Object.entries(times).map(([kind, ms]) => [
    kind,
    Math.round(percentile(ms, 50)),
    Math.round(percentile(ms, 99)),
    Math.round(Math.min(...ms)),
    ms.length,
  ]);
  console.log(table([['microvm cold start to first answer', 'p50 ms', 'p99 ms', 'min ms', 'runs'], ...rows]));
  const p50 = (k: string) => percentile(times[k] ?? [], 50);
  console.log(`function snapshot / machine p50: ${(p50('function snapshot') / p50('machine')).toFixed(2)}`);
  console.log(`standby / machine p50: ${(p50('standby') / p50('machine')).toFixed(2)}`);
  console.log(`standby state on disk p50: ${percentile(standbyMb, 50).toFixed(1)} MB`);
} finally {
  await withSnapshots.dispose();
  await machineOnly.dispose();
  await rm(dir, { recursive: true, force: true });
}
