// How `nimbus report cost` shows a report in a terminal: a table of the buckets
// and a chart of the two cost series in unicode blocks, on one log scale (a
// serverless bucket often costs a thousandth of the VMs': a linear scale would
// show it as nothing).
import type { CostReport } from '../reports/cost.ts';

const BLOCKS = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

export function usd(x: number): string {
  if (x === 0) return '$0';
  return `$${x >= 0.01 ? x.toFixed(4) : x.toPrecision(3)}`;
}

const ratio = (x: number | null) => (x === null ? '-' : x >= 100 ? `${Math.round(x)}×` : `${x.toFixed(2)}×`);
const percent = (x: number | null) => (x === null ? '-' : `${(x * 100).toFixed(x < 0.1 ? 2 : 1)}%`);
const clock = (iso: string) => iso.slice(11, 19);

/** The report as a table, a chart and a summary line. */
export function renderReport(r: CostReport & { namespace?: string; function?: string }): string {
  const head = ['bucket (UTC)', 'calls', 'peak', 'serverless', 'VMs', 'VM/serverless', 'utilization', 'break-even'];
  const rows = r.buckets.map((b) => [
    clock(b.from),
    String(b.calls),
    String(b.peakConcurrency),
    usd(b.serverlessUsd),
    usd(b.vmUsd),
    ratio(b.vmOverServerless),
    percent(b.utilization),
    percent(b.breakEvenUtilization),
  ]);
  const t = r.totals;
  rows.push([
    'total',
    String(t.calls),
    String(t.peakConcurrency),
    usd(t.serverlessUsd),
    usd(t.vmUsd),
    ratio(t.vmOverServerless),
    percent(t.utilization),
    percent(t.breakEvenUtilization),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const p = r.prices;
  const out = [
    `cost of ${r.function ?? `namespace ${r.namespace ?? 'default'}`}, ${r.from} to ${r.to}, buckets of ${r.bucketMs / 1000}s`,
    `serverless: ${usd(p.gbSecondUsd)}/GB-s + ${usd(p.perMillionRequestsUsd)}/1M requests · always-on: ${r.vms} VM(s) of ${p.vmVcpus} vCPU / ${p.vmMemoryMb} MB at ${usd(p.vmHourUsd)}/h (peak ${r.peakConcurrency} at once)`,
    '',
    line(head),
    ...rows.map(line),
    '',
    ...chart(r),
  ];
  if (r.message) out.push(r.message);
  else if (t.vmOverServerless !== null)
    out.push(
      t.vmOverServerless >= 1
        ? `serverless is ${ratio(t.vmOverServerless)} cheaper here; the VMs would win only above ${percent(t.breakEvenUtilization)} utilization (they ran at ${percent(t.utilization)})`
        : `the always-on VMs are ${ratio(1 / t.vmOverServerless)} cheaper here: they ran at ${percent(t.utilization)}, above the break-even ${percent(t.breakEvenUtilization)}`,
    );
  return out.join('\n');
}

/** The two cost series as rows of blocks, one column per bucket, on a shared log10 scale. */
export function chart(r: CostReport): string[] {
  const series = [
    ['serverless', r.buckets.map((b) => b.serverlessUsd)],
    ['VMs', r.buckets.map((b) => b.vmUsd)],
  ] as const;
  const positive = series.flatMap(([, xs]) => xs.filter((x) => x > 0));
  if (positive.length === 0) return ['(nothing to chart: no cost in any bucket)'];
  const lo = Math.log10(Math.min(...positive));
  const hi = Math.log10(Math.max(...positive));
  const block = (x: number) => {
    if (x <= 0) return ' ';
    const level = hi > lo ? Math.round(((Math.log10(x) - lo) / (hi - lo)) * (BLOCKS.length - 1)) : BLOCKS.length - 1;
    return BLOCKS[level]!;
  };
  return [
    ...series.map(([name, xs]) => `${name.padEnd(10)} │${xs.map(block).join('')}│`),
    `${''.padEnd(10)}  log scale: ▁ ${usd(10 ** lo)} … █ ${usd(10 ** hi)} per bucket`,
  ];
}
