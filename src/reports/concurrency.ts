// Peak concurrency per time bucket by a sweep over the calls' [start, end)
// intervals: the most calls running at one instant within each bucket, and the
// most memory they held together (which sizes always-on VMs in cost.ts).

export interface Interval {
  start: number;
  /** Exclusive: a call ending at t and one starting at t never overlap. */
  end: number;
  /** What the interval holds while it runs (memory, MB). */
  weight: number;
}

export interface Peak {
  count: number;
  weight: number;
}

/** For each bucket [edges[i], edges[i+1]): the peak count and the peak summed weight. */
export function peaksPerBucket(intervals: Interval[], edges: number[]): Peak[] {
  const events: { t: number; d: 1 | -1; w: number }[] = [];
  for (const iv of intervals) {
    if (!(iv.end > iv.start)) continue;
    events.push({ t: iv.start, d: 1, w: iv.weight }, { t: iv.end, d: -1, w: iv.weight });
  }
  // Ends before starts at the same instant: half-open intervals that touch do not overlap.
  events.sort((a, b) => a.t - b.t || a.d - b.d);
  const peaks: Peak[] = [];
  let k = 0;
  let count = 0;
  let weight = 0;
  const apply = () => {
    const e = events[k++]!;
    count += e.d;
    weight += e.d * e.w;
  };
  for (let i = 0; i + 1 < edges.length; i++) {
    const lo = edges[i]!;
    const hi = edges[i + 1]!;
    while (k < events.length && events[k]!.t <= lo) apply();
    const peak = { count, weight };
    while (k < events.length && events[k]!.t < hi) {
      apply();
      peak.count = Math.max(peak.count, count);
      peak.weight = Math.max(peak.weight, weight);
    }
    peaks.push(peak);
  }
  return peaks;
}
