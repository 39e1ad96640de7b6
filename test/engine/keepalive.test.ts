// The learned keep-alive (Shahrad et al.'s hybrid histogram policy) on
// recorded idle-time sequences, no sleeping: the fixed keep-alive while the
// histogram is sparse, spread out or mostly beyond its range; a pre-warm just
// before and a keep-alive just past the usual gap once it has a pattern.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BIN_MS, IdleHistogram, MIN_SAMPLES } from '../../src/engine/keepalive/hybrid-policy.ts';

const FIXED = 600_000;
const MIN = 60_000;

function histogramOf(idleMs: number[]): IdleHistogram {
  const h = new IdleHistogram();
  for (const ms of idleMs) h.record(ms);
  return h;
}

/** A seeded generator (mulberry32), so the sequences are the same every run. */
function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('learned keep-alive', () => {
  it('keeps the fixed keep-alive until it has enough samples', () => {
    const few = histogramOf(Array.from({ length: MIN_SAMPLES - 1 }, () => 5 * MIN + 10_000));
    assert.deepEqual(few.decide(FIXED), { prewarmMs: 0, keepAliveMs: FIXED, learned: false });
    few.record(5 * MIN + 20_000);
    assert.equal(few.decide(FIXED).learned, true);
  });

  it('a function called every 5 minutes is unloaded, pre-warmed before the next call and kept past it', () => {
    const rnd = seeded(1);
    // A timer every 5 minutes with up to 40 s of jitter.
    const idle = Array.from({ length: 50 }, () => 5 * MIN + rnd() * 40_000);
    const d = histogramOf(idle).decide(FIXED);
    assert.equal(d.learned, true);
    assert.ok(d.prewarmMs > 0, 'unloaded after the call');
    for (const gap of idle) {
      assert.ok(d.prewarmMs < gap, `warm again before the next call (${d.prewarmMs} ms < ${gap} ms)`);
      assert.ok(d.prewarmMs + d.keepAliveMs > gap, 'and still warm when it comes');
    }
    // Loaded for minutes around the call instead of the ten the fixed policy keeps after each.
    assert.ok(d.keepAliveMs < 3 * MIN, `kept ${d.keepAliveMs} ms`);
  });

  it('a function called every few seconds keeps its sandbox about a minute, never unloaded', () => {
    const rnd = seeded(2);
    const d = histogramOf(Array.from({ length: 500 }, () => rnd() * 20_000)).decide(FIXED);
    assert.deepEqual(d, { prewarmMs: 0, keepAliveMs: Math.round(BIN_MS * 1.1), learned: true });
  });

  it('two habits (1 and 30 minutes): pre-warm before the shorter, keep through the longer', () => {
    const idle = Array.from({ length: 40 }, (_, i) => (i % 2 ? 30 * MIN + 5_000 : MIN + 5_000));
    const d = histogramOf(idle).decide(FIXED);
    assert.equal(d.learned, true);
    assert.ok(d.prewarmMs <= MIN && d.prewarmMs > 0);
    assert.ok(d.prewarmMs + d.keepAliveMs >= 31 * MIN);
  });

  it('idle times spread over hours are not a pattern: the fixed keep-alive applies', () => {
    const rnd = seeded(3);
    const d = histogramOf(Array.from({ length: 400 }, () => rnd() * 4 * 60 * MIN)).decide(FIXED);
    assert.deepEqual(d, { prewarmMs: 0, keepAliveMs: FIXED, learned: false });
  });

  it('mostly longer than the histogram holds (4 hours): the fixed keep-alive applies', () => {
    const idle = [...Array.from({ length: 8 }, () => 5 * 60 * MIN), ...Array.from({ length: 6 }, () => 2 * MIN)];
    assert.equal(histogramOf(idle).decide(FIXED).learned, false);
  });
});
