// A synthetic invocation trace shaped like the Azure Functions 2019 trace
// (Shahrad et al., ATC 2020): most functions are called rarely (about half at
// most once an hour), timers fire every few minutes with a little jitter, a
// few HTTP functions are called every few seconds, and some come in bursts of
// calls seconds apart with long quiet gaps between. Generated from a seeded
// PRNG (mulberry32) so that every run replays the same trace; nothing is
// downloaded. Execution times are log-normal (median about half a second).

export interface TraceCall {
  /** Function index (a function per shape: see `shape`). */
  fn: number;
  /** Arrival, ms from the trace's start. */
  at: number;
  durationMs: number;
}

export type Shape = 'seconds' | 'minutes-timer' | 'hourly' | 'bursts' | 'rare';

export interface Trace {
  hours: number;
  functions: { shape: Shape; label: string }[];
  /** Sorted by arrival. */
  calls: TraceCall[];
}

/** mulberry32: a small, fast seeded generator of floats in [0, 1). */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SEC = 1000;
const MIN = 60 * SEC;

/** How many functions of each shape (40 in all, close to the trace's shares: about half hourly or rarer). */
const MIX: [Shape, number][] = [
  ['seconds', 4],
  ['minutes-timer', 10],
  ['bursts', 6],
  ['hourly', 10],
  ['rare', 10],
];

export function generateTrace(seed = 2019, hours = 8): Trace {
  const rnd = seeded(seed);
  const exp = (mean: number) => -Math.log(1 - rnd()) * mean;
  // Box-Muller, for log-normal durations.
  const normal = () => Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
  const duration = () => Math.min(30 * SEC, Math.round(500 * Math.exp(1.2 * normal())));
  const end = hours * 60 * MIN;
  const functions: Trace['functions'] = [];
  const calls: TraceCall[] = [];
  const push = (fn: number, at: number) => {
    if (at >= 0 && at < end) calls.push({ fn, at: Math.round(at), durationMs: duration() });
  };
  for (const [shape, count] of MIX) {
    for (let k = 0; k < count; k++) {
      const fn = functions.length;
      let label = '';
      if (shape === 'seconds') {
        // Poisson arrivals, one every 2-10 s on average.
        const mean = (2 + rnd() * 8) * SEC;
        label = `Poisson, mean ${(mean / SEC).toFixed(1)} s`;
        for (let t = exp(mean); t < end; t += exp(mean)) push(fn, t);
      } else if (shape === 'minutes-timer') {
        // A timer every 1-15 whole minutes, a few seconds of jitter.
        const period = (1 + Math.floor(rnd() * 15)) * MIN;
        label = `timer every ${period / MIN} min`;
        for (let t = rnd() * period; t < end; t += period) push(fn, t + rnd() * 5 * SEC);
      } else if (shape === 'hourly') {
        // About once an hour: a timer (jitter of a minute) or a client's hourly job.
        const period = (50 + rnd() * 20) * MIN;
        label = `about hourly (${Math.round(period / MIN)} min)`;
        for (let t = rnd() * period; t < end; t += period) push(fn, t + rnd() * MIN);
      } else if (shape === 'bursts') {
        // Bursts of 5-40 calls 0.2-3 s apart, bursts 10-60 min apart on average.
        const gap = (10 + rnd() * 50) * MIN;
        label = `bursts every ~${Math.round(gap / MIN)} min`;
        for (let t = exp(gap); t < end; t += exp(gap)) {
          const n = 5 + Math.floor(rnd() * 36);
          let at = t;
          for (let i = 0; i < n; i++, at += 200 + rnd() * 2_800) push(fn, at);
        }
      } else {
        // Rare: Poisson, one every 1-6 hours on average.
        const mean = (1 + rnd() * 5) * 60 * MIN;
        label = `Poisson, mean ${(mean / 60 / MIN).toFixed(1)} h`;
        for (let t = exp(mean); t < end; t += exp(mean)) push(fn, t);
      }
      functions.push({ shape, label });
    }
  }
  calls.sort((a, b) => a.at - b.at || a.fn - b.fn);
  return { hours, functions, calls };
}
