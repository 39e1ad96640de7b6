// Learned keep-alive: the hybrid histogram policy of "Serverless in the Wild"
// (Shahrad et al., ATC 2020). Per function, a histogram of idle times (the
// time from the moment the function had no call left to its next call) in
// one-minute bins over a bounded range. Once it holds enough samples and is
// representative (its bin counts' coefficient of variation is high: a few
// prominent bins, not idle times spread everywhere), the function is unloaded
// after a call and pre-warmed at the 5th percentile of idle times (less a
// margin), then kept warm until the 99th percentile (plus a margin). Until
// then, and for idle times the histogram cannot hold, the fixed keep-alive
// applies. One guard the paper does not have: a learned decision is used
// only when, replayed over the function's own recorded idle times, it starts
// no more calls cold and keeps sandboxes idle no longer than the fixed
// keep-alive would; when the 99th percentile's keep-alive fails that, shorter
// ones are tried (keeping warm through the usual gaps, not the rare long
// ones), else the fixed keep-alive applies. A sparse histogram (a few samples in 240 bins) passes the
// CV test whatever its shape, and a bursty function's long tail makes the 99th
// percentile hours long: without the guard both were kept warm for hours to
// save a few cold starts (bench/trace.bench.ts measured it).
// Pure: the pool records idle times and asks for a decision.

export const BIN_MS = 60_000;
/** Bins of one minute: 4 hours of idle times; longer ones count as out of bounds. */
export const BINS = 240;
/** Samples before the histogram is trusted. */
export const MIN_SAMPLES = 10;
/** The paper's representativeness threshold on the bin counts' coefficient of variation. */
export const CV_THRESHOLD = 2;
/** Past this share of idle times beyond the range, the histogram says nothing useful (the paper turns to ARIMA there). */
export const OUT_OF_BOUNDS_SHARE = 0.5;
/** The paper's margins: pre-warm 10% earlier, keep alive 10% longer. */
export const MARGIN = 0.1;

export interface KeepAliveDecision {
  /** After the function goes idle, how long until a sandbox is loaded again (0: keep what is loaded). */
  prewarmMs: number;
  /** How long a sandbox stays loaded once idle (after the pre-warm, when there is one). */
  keepAliveMs: number;
  /** False while the fixed keep-alive applies (too few samples, or not representative). */
  learned: boolean;
}

export class IdleHistogram {
  private readonly bins = new Uint32Array(BINS);
  private inRange = 0;
  private outOfBounds = 0;
  /** The last decision, until the next sample. */
  private cached?: { fallbackMs: number; decision: KeepAliveDecision };

  /** `binMs`: one minute, as in the paper; tests shrink it to run the policy in real time. */
  constructor(private readonly binMs = BIN_MS) {}

  get samples(): number {
    return this.inRange + this.outOfBounds;
  }

  record(idleMs: number): void {
    this.cached = undefined;
    const bin = Math.floor(Math.max(0, idleMs) / this.binMs);
    if (bin >= BINS) this.outOfBounds++;
    else {
      this.bins[bin] = (this.bins[bin] ?? 0) + 1;
      this.inRange++;
    }
  }

  /** The keep-alive and pre-warm now, or the fixed `fallbackMs` while the histogram is not to be trusted. */
  decide(fallbackMs: number): KeepAliveDecision {
    // Asked at every call's release: the answer changes only with a new sample.
    if (this.cached?.fallbackMs !== fallbackMs) this.cached = { fallbackMs, decision: this.compute(fallbackMs) };
    return this.cached.decision;
  }

  private compute(fallbackMs: number): KeepAliveDecision {
    const fixed = { prewarmMs: 0, keepAliveMs: fallbackMs, learned: false };
    if (this.samples < MIN_SAMPLES || this.outOfBounds > this.samples * OUT_OF_BOUNDS_SHARE) return fixed;
    if (this.coefficientOfVariation() < CV_THRESHOLD) return fixed;
    // The head: the lower edge of the 5th percentile's bin; the tail: the upper edge of the 99th's.
    const headBin = this.percentileBin(0.05);
    const prewarmMs = Math.round(headBin * this.binMs * (1 - MARGIN));
    const baseline = this.replay(0, fallbackMs);
    // The paper's tail first; when keeping warm that long costs more idle time than the fixed
    // keep-alive, shorter tails (down to the head's bin), the longest one that beats it on both.
    for (let tailBin = this.percentileBin(0.99); tailBin >= headBin; tailBin--) {
      if (tailBin !== headBin && (this.bins[tailBin] ?? 0) === 0) continue;
      const keepAliveMs = Math.round((tailBin + 1) * this.binMs * (1 + MARGIN)) - prewarmMs;
      const learned = this.replay(prewarmMs, keepAliveMs);
      if (learned.cold <= baseline.cold && learned.idleMs <= baseline.idleMs)
        return { prewarmMs, keepAliveMs, learned: true };
    }
    return fixed;
  }

  /**
   * The recorded idle times replayed against a decision (each taken at its
   * bin's middle; out of range: never warm): how many next calls would have
   * found no sandbox, and how long sandboxes would have been loaded and idle.
   */
  private replay(prewarmMs: number, keepAliveMs: number): { cold: number; idleMs: number } {
    let cold = this.outOfBounds;
    let idleMs = this.outOfBounds * keepAliveMs;
    const until = prewarmMs + keepAliveMs;
    for (let i = 0; i < BINS; i++) {
      const count = this.bins[i] ?? 0;
      if (count === 0) continue;
      const gap = (i + 0.5) * this.binMs;
      if (gap < prewarmMs || gap >= until) cold += count;
      if (gap >= prewarmMs) idleMs += count * (Math.min(gap, until) - prewarmMs);
    }
    return { cold, idleMs };
  }

  /** The bin holding the `p` quantile of the in-range idle times. */
  private percentileBin(p: number): number {
    const rank = Math.max(1, Math.ceil(p * this.inRange));
    let seen = 0;
    for (let i = 0; i < BINS; i++) {
      seen += this.bins[i] ?? 0;
      if (seen >= rank) return i;
    }
    return BINS - 1;
  }

  private coefficientOfVariation(): number {
    const mean = this.inRange / BINS;
    if (mean === 0) return 0;
    let squares = 0;
    for (const count of this.bins) squares += (count - mean) ** 2;
    return Math.sqrt(squares / BINS) / mean;
  }
}

/** A function's `keepAlive` config: "adaptive" (the default) or a fixed number of ms. */
export type KeepAliveSetting = 'adaptive' | number;
