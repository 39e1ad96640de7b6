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

  it('two habits (1 and 30 minutes): pre-warm before the shorter, keep through it, not through the longer', () => {
    const idle = Array.from({ length: 40 }, (_, i) => (i % 2 ? 30 * MIN + 5_000 : MIN + 5_000));
    const d = histogramOf(idle).decide(FIXED);
    assert.equal(d.learned, true);
    assert.ok(d.prewarmMs <= MIN && d.prewarmMs > 0);
    // Warm through the 30-minute gaps would save the 20 cold starts that the fixed 10 minutes
    // also pays, at 30 idle minutes each: more idle time than the fixed keep-alive.
    assert.ok(d.prewarmMs + d.keepAliveMs > MIN + 5_000, 'warm for the 1-minute habit');
    assert.ok(d.prewarmMs + d.keepAliveMs < 3 * MIN, `not kept through the 30-minute one (${d.keepAliveMs} ms)`);
  });

  it('bursts with long quiet gaps: not kept warm for hours to save the first call of a burst', () => {
    const rnd = seeded(4);
    // Bursts of 20 calls a second apart; between bursts, 10 minutes to 3 hours.
    const idle: number[] = [];
    for (let burst = 0; burst < 10; burst++) {
      for (let i = 0; i < 19; i++) idle.push(1_000);
      idle.push(10 * MIN + rnd() * 170 * MIN);
    }
    const d = histogramOf(idle).decide(FIXED);
    assert.equal(d.prewarmMs, 0, 'kept between the calls of a burst');
    assert.ok(d.keepAliveMs <= FIXED, `kept ${d.keepAliveMs} ms, no longer than the fixed keep-alive`);
  });

  it('a few idle times of hours (sparse, so the CV test passes): no keep-alive of hours', () => {
    const idle = [35, 70, 95, 120, 150, 180, 200, 215, 230, 238].map((m) => m * MIN);
    const d = histogramOf(idle).decide(FIXED);
    assert.ok(d.keepAliveMs <= FIXED, `kept ${d.keepAliveMs} ms after the pre-warm`);
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
