// npm run bench:trace: keep-alive fixed at 10 minutes vs adaptive (the learned
// hybrid-histogram policy), on a synthetic trace shaped like the Azure
// Functions 2019 trace (trace-gen.ts), in the same run. The full trace is
// replayed through the platform's own pools in virtual time (trace-sim.ts);
// a time-compressed slice is replayed against a real embedded platform with
// real process sandboxes, and its cold starts compared call by call with the
// simulation's (trace-real.ts). Env: BENCH_TRACE_HOURS (24), BENCH_TRACE_SEED
// (2019), BENCH_TRACE_SLICE_HOURS (1; 0 skips the real replay),
// BENCH_TRACE_COMPRESSION (60: a minute of trace is a second).
import { resolveConfig } from '../src/config/options.ts';
import { generateTrace, type Shape } from './trace-gen.ts';
import { checkSlice, compressedSlice } from './trace-real.ts';
import { replay, type ReplayResult } from './trace-sim.ts';
import { table } from './lib.ts';

const HOURS = Number(process.env.BENCH_TRACE_HOURS ?? 24);
const SEED = Number(process.env.BENCH_TRACE_SEED ?? 2019);
const SLICE_HOURS = Number(process.env.BENCH_TRACE_SLICE_HOURS ?? 1);
const COMPRESSION = Number(process.env.BENCH_TRACE_COMPRESSION ?? 60);
const FIXED_MS = 600_000;

const trace = generateTrace(SEED, HOURS);
const config = resolveConfig({ dataDir: '/nonexistent-bench-trace' });
const results = {
  fixed: await replay(trace, 'fixed', { config, fixedKeepAliveMs: FIXED_MS }),
  adaptive: await replay(trace, 'adaptive', { config, fixedKeepAliveMs: FIXED_MS }),
};
const pct = (a: number, b: number) => (b ? ((100 * a) / b).toFixed(2) + '%' : '-');
const hours = (s: number) => (s / 3600).toFixed(1);

console.log(
  `\nTrace: ${HOURS} h, seed ${SEED}, ${trace.functions.length} functions, ${trace.calls.length} calls (simulated with the platform's pools, virtual time)\n`,
);
const rows: (string | number)[][] = [
  ['keep-alive', 'calls', 'cold starts', 'cold share', 'idle sandbox-hours', 'sandboxes started'],
];
for (const [name, r] of Object.entries(results))
  rows.push([
    name === 'fixed' ? 'fixed 10 min' : 'adaptive',
    r.calls,
    r.cold,
    pct(r.cold, r.calls),
    hours(r.idleSandboxSeconds),
    r.sandboxesStarted,
  ]);
const { fixed, adaptive } = results;
rows.push([
  'adaptive/fixed',
  '',
  (adaptive.cold / fixed.cold).toFixed(3),
  '',
  (adaptive.idleSandboxSeconds / fixed.idleSandboxSeconds).toFixed(3),
  '',
]);
console.log(table(rows));
const met = adaptive.cold < fixed.cold && adaptive.idleSandboxSeconds < fixed.idleSandboxSeconds;
console.log(`\nTarget: adaptive has fewer cold starts and fewer idle sandbox-seconds: ${met ? 'met' : 'MISSED'}\n`);

/** Per shape of function: calls, cold share and idle sandbox-hours under each policy. */
function byShape(r: ReplayResult): Map<Shape, [number, number, number]> {
  const out = new Map<Shape, [number, number, number]>();
  r.perFunction.forEach(([calls, cold, idle], fn) => {
    const shape = trace.functions[fn]?.shape;
    if (!shape) return;
    const row = out.get(shape) ?? [0, 0, 0];
    out.set(shape, [row[0] + calls, row[1] + cold, row[2] + idle]);
  });
  return out;
}
const f = byShape(fixed);
const a = byShape(adaptive);
const shapeRows: (string | number)[][] = [
  ['functions', 'calls', 'cold share fixed', 'cold share adaptive', 'idle h fixed', 'idle h adaptive'],
];
for (const [shape, [calls, cold, idle]] of f) {
  const [, aCold, aIdle] = a.get(shape) ?? [0, 0, 0];
  const n = trace.functions.filter((fn) => fn.shape === shape).length;
  shapeRows.push([`${shape} (${n})`, calls, pct(cold, calls), pct(aCold, calls), hours(idle), hours(aIdle)]);
}
console.log(table(shapeRows));

if (SLICE_HOURS > 0) {
  // The "seconds" functions are left out: compressed, their calls overlap real cold starts, which the check is not about.
  const slice = compressedSlice(
    trace,
    0,
    SLICE_HOURS * 3_600_000,
    COMPRESSION,
    (fn) => trace.functions[fn]?.shape !== 'seconds',
  );
  console.log(
    `\nReal platform (process engine, maxSandboxes 1) vs simulation: the first ${SLICE_HOURS} h of the trace without the "seconds" functions, ${slice.calls.length} calls, compressed ${COMPRESSION}x (${Math.round((SLICE_HOURS * 3600) / COMPRESSION)} s per policy)\n`,
  );
  const checkRows: (string | number)[][] = [
    ['keep-alive', 'calls answered', 'cold (real)', 'cold (simulated)', 'same answer', 'by shape (same/calls)'],
  ];
  for (const policy of ['fixed', 'adaptive'] as const) {
    const c = await checkSlice(slice, policy, COMPRESSION);
    const shapes = Object.entries(c.byShape)
      .map(([s, [n, same]]) => `${s} ${same}/${n}`)
      .join(', ');
    checkRows.push([
      policy,
      `${c.calls} of ${c.calls + c.failed}`,
      c.realCold,
      c.simCold,
      pct(c.agree, c.calls),
      shapes,
    ]);
  }
  console.log(table(checkRows));
}
