// The cost report's arithmetic, pure (no I/O): what a window's recorded calls
// cost on serverless pricing (GB-seconds and requests) against always-on VMs
// sized for the window's peak concurrency, per time bucket, with the ratio and
// the VM utilization at which the two cost the same. routes/reports.ts feeds it
// activation records; test/reports/cost.test.ts checks it by hand.
import { peaksPerBucket, type Interval } from './concurrency.ts';

export interface CostPrices {
  /** Serverless price per GB-second of run time, USD. */
  gbSecondUsd: number;
  /** Serverless price per million requests, USD. */
  perMillionRequestsUsd: number;
  /** One always-on VM's price per hour, USD. */
  vmHourUsd: number;
  vmVcpus: number;
  vmMemoryMb: number;
}

/** One finished call, as the report needs it (from an activation record). */
export interface CallFacts {
  startMs: number;
  endMs: number;
  gbSeconds: number;
  /** The memory the call was given, MB (sizes the VMs by memory as well as by vCPUs). */
  memoryMb: number;
}

export interface BucketCost {
  from: string;
  to: string;
  calls: number;
  gbSeconds: number;
  /** Most calls running at once within the bucket. */
  peakConcurrency: number;
  serverlessUsd: number;
  vmUsd: number;
  /** vmUsd / serverlessUsd: how many times serverless is cheaper; null when nothing ran. */
  vmOverServerless: number | null;
  /** Share of the VMs' vCPU-seconds the calls kept busy. */
  utilization: number;
  /** The utilization at which the calls' serverless cost would equal the VMs'; null when nothing ran. */
  breakEvenUtilization: number | null;
}

export interface CostReport {
  from: string;
  to: string;
  bucketMs: number;
  prices: CostPrices;
  /** Always-on VMs sized for the whole window's peak (always-on: the fleet does not shrink in a quiet bucket). */
  vms: number;
  peakConcurrency: number;
  peakMemoryMb: number;
  buckets: BucketCost[];
  totals: Omit<BucketCost, 'from' | 'to'>;
  /** Set when the numbers need a word, e.g. an empty window. */
  message?: string;
}

/** The report of calls over [fromMs, toMs) in buckets of bucketMs (the last one may be shorter). */
export function costReport(
  calls: CallFacts[],
  window: { fromMs: number; toMs: number; bucketMs: number },
  prices: CostPrices,
): CostReport {
  const { fromMs, toMs, bucketMs } = window;
  const edges: number[] = [];
  for (let t = fromMs; t < toMs; t += bucketMs) edges.push(t);
  edges.push(toMs);
  const intervals: Interval[] = calls.map((c) => ({ start: c.startMs, end: c.endMs, weight: c.memoryMb }));
  const peaks = peaksPerBucket(intervals, edges);
  const peakConcurrency = Math.max(0, ...peaks.map((p) => p.count));
  const peakMemoryMb = Math.max(0, ...peaks.map((p) => p.weight));
  const vms =
    calls.length === 0
      ? 0
      : Math.max(1, Math.ceil(peakConcurrency / prices.vmVcpus), Math.ceil(peakMemoryMb / prices.vmMemoryMb));

  const sums = edges.slice(1).map(() => ({ calls: 0, gbSeconds: 0, busyMs: 0 }));
  for (const c of calls) {
    // The request counts in the bucket the call started in (clamped: it was created inside the window);
    // its run time and GB-seconds are split over the buckets it ran in, a part outside the window dropped.
    sums[Math.min(sums.length - 1, Math.max(0, Math.floor((c.startMs - fromMs) / bucketMs)))]!.calls += 1;
    const first = Math.max(0, Math.floor((c.startMs - fromMs) / bucketMs));
    for (let i = first; i < sums.length && edges[i]! < c.endMs; i++) {
      const overlap = Math.min(c.endMs, edges[i + 1]!) - Math.max(c.startMs, edges[i]!);
      if (overlap <= 0) continue;
      sums[i]!.busyMs += overlap;
      sums[i]!.gbSeconds += c.gbSeconds * (overlap / (c.endMs - c.startMs));
    }
  }
  const buckets = sums.map((s, i) => ({
    from: new Date(edges[i]!).toISOString(),
    to: new Date(edges[i + 1]!).toISOString(),
    peakConcurrency: peaks[i]?.count ?? 0,
    ...compare(s, edges[i + 1]! - edges[i]!, vms, prices),
  }));
  const all = sums.reduce(
    (a, s) => ({ calls: a.calls + s.calls, gbSeconds: a.gbSeconds + s.gbSeconds, busyMs: a.busyMs + s.busyMs }),
    { calls: 0, gbSeconds: 0, busyMs: 0 },
  );
  const totals = { peakConcurrency, ...compare(all, toMs - fromMs, vms, prices) };
  const report: CostReport = {
    from: new Date(fromMs).toISOString(),
    to: new Date(toMs).toISOString(),
    bucketMs,
    prices,
    vms,
    peakConcurrency,
    peakMemoryMb,
    buckets,
    totals,
  };
  if (calls.length === 0)
    report.message =
      'no finished calls were recorded in this window, so there is nothing to compare (ratio and break-even are null); widen from/to or invoke the function first';
  return report;
}

/** One span's serverless cost against `vms` VMs kept on for `spanMs`. */
function compare(
  s: { calls: number; gbSeconds: number; busyMs: number },
  spanMs: number,
  vms: number,
  p: CostPrices,
): Omit<BucketCost, 'from' | 'to' | 'peakConcurrency'> {
  const serverlessUsd = s.gbSeconds * p.gbSecondUsd + (s.calls * p.perMillionRequestsUsd) / 1e6;
  const vmUsd = vms * p.vmHourUsd * (spanMs / 3_600_000);
  const capacityMs = vms * p.vmVcpus * spanMs;
  // Serverless cost grows with busy time at the measured cost per busy ms; the VMs' does not.
  // Break-even: the busy share u of capacity where u·capacity·(serverlessUsd/busyMs) = vmUsd.
  const perBusyMs = s.busyMs > 0 ? serverlessUsd / s.busyMs : 0;
  return {
    calls: s.calls,
    gbSeconds: round(s.gbSeconds, 9),
    serverlessUsd: round(serverlessUsd, 12),
    vmUsd: round(vmUsd, 12),
    vmOverServerless: serverlessUsd > 0 ? round(vmUsd / serverlessUsd, 6) : null,
    utilization: capacityMs > 0 ? round(s.busyMs / capacityMs, 6) : 0,
    breakEvenUtilization: perBusyMs > 0 && capacityMs > 0 ? round(vmUsd / (capacityMs * perBusyMs), 6) : null,
  };
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
