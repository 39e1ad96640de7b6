// A time-weighted average of a level (a pool's concurrency) over a sliding
// window, kept in a bounded ring of buckets: each bucket holds the integral of
// the level over its slice of time, so a call that ran for half a second
// weighs half as much as one that ran for a second, whatever the sampling.
const BUCKETS = 30;

export class WindowedAverage {
  private readonly bucketMs: number;
  /** Integral of level × ms per bucket, by bucket index modulo BUCKETS. */
  private readonly sums = new Float64Array(BUCKETS);
  private readonly indexOf = new Float64Array(BUCKETS).fill(-1);
  private level = 0;
  private since: number;
  private readonly start: number;

  constructor(
    private readonly windowMs: number,
    now: number,
  ) {
    // Whole milliseconds: bucket edges must be exact for the walk in advance() to move on.
    this.bucketMs = Math.max(1, Math.ceil(windowMs / BUCKETS));
    this.since = now;
    this.start = now;
  }

  /** The level changes to `level` at `now`. */
  set(level: number, now: number): void {
    this.advance(now);
    this.level = level;
  }

  /** The average level over the window ending at `now` (over less when younger than the window). */
  average(now: number): number {
    this.advance(now);
    const from = now - this.windowMs;
    let sum = 0;
    for (let i = 0; i < BUCKETS; i++) {
      const start = (this.indexOf[i] ?? -1) * this.bucketMs;
      if (start + this.bucketMs <= from || start < 0) continue;
      // The bucket the window starts in counts for the share of it inside the window.
      const share = start >= from ? 1 : (start + this.bucketMs - from) / this.bucketMs;
      sum += (this.sums[i] ?? 0) * share;
    }
    const span = Math.min(this.windowMs, now - this.start);
    // The current level counts at once, so that a step is seen before any time passes.
    return span <= 0 ? this.level : Math.max(sum / span, 0);
  }

  /** Adds the current level's integral from `since` to `now`, bucket by bucket. */
  private advance(now: number): void {
    let t = this.since;
    // Nothing older than the window matters: skip the time before it.
    if (now - t > this.windowMs + this.bucketMs) t = now - this.windowMs - this.bucketMs;
    while (t < now) {
      const index = Math.floor(t / this.bucketMs);
      const end = Math.min(now, (index + 1) * this.bucketMs);
      const slot = index % BUCKETS;
      if (this.indexOf[slot] !== index) {
        this.indexOf[slot] = index;
        this.sums[slot] = 0;
      }
      this.sums[slot] = (this.sums[slot] ?? 0) + this.level * (end - t);
      t = end;
    }
    this.since = Math.max(this.since, now);
  }
}
