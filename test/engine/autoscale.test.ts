// The autoscaler's decisions on an injected clock (no sleeping): a step in
// concurrency raises the desired count within a second through the panic
// window, panic never scales down, a fall scales down only after the stable
// window, and every decision stays within minSandboxes..maxSandboxes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Autoscaler, TARGET_UTILIZATION, type AutoscaleSettings } from '../../src/engine/autoscale/autoscaler.ts';
import { WindowedAverage } from '../../src/engine/autoscale/window.ts';

const SETTINGS: AutoscaleSettings = {
  targetConcurrency: 1,
  stableWindowMs: 60_000,
  panicWindowMs: 6_000,
  minSandboxes: 0,
  maxSandboxes: 8,
};

function scaler(settings: Partial<AutoscaleSettings> = {}) {
  const clock = { t: 1_000_000 };
  const autoscaler = new Autoscaler({ ...SETTINGS, ...settings }, () => clock.t);
  return { autoscaler, advance: (ms: number) => (clock.t += ms) };
}

describe('autoscaler', () => {
  it('averages the level over time, not over samples', () => {
    const w = new WindowedAverage(10_000, 0);
    w.set(4, 0);
    w.set(0, 5_000);
    assert.ok(Math.abs(w.average(10_000) - 2) < 0.01, `got ${w.average(10_000)}`);
    // Ten seconds later the window holds only the zero.
    assert.equal(w.average(20_500), 0);
  });

  it('a step from 1 to 8 concurrent callers raises the decision within a second (panic), to 8 within the panic window', () => {
    const { autoscaler, advance } = scaler();
    autoscaler.observe(1);
    advance(30_000);
    const steady = autoscaler.decide(2);
    // One caller: one sandbox busy and one spare (Knative's 70% target utilization).
    assert.equal(steady.desired, Math.ceil(1 / TARGET_UTILIZATION));
    assert.equal(steady.panic, false);
    autoscaler.observe(8);
    advance(1_000);
    const early = autoscaler.decide(2);
    assert.equal(early.panic, true, 'the panic window sees the step');
    assert.ok(early.desired > 2, `desired ${early.desired} rises before the stable window notices`);
    assert.ok(Math.ceil(early.stableConcurrency / TARGET_UTILIZATION) <= 2, 'the stable window alone would not have');
    advance(5_000);
    assert.equal(autoscaler.decide(early.desired).desired, 8);
  });

  it('in panic never scales down, and leaves panic a stable window after its cause', () => {
    const { autoscaler, advance } = scaler();
    autoscaler.observe(1);
    advance(10_000);
    autoscaler.observe(8);
    advance(3_000);
    const peak = autoscaler.decide(1);
    assert.equal(peak.panic, true);
    autoscaler.observe(0);
    for (let i = 0; i < 29; i++) {
      advance(2_000);
      const d = autoscaler.decide(peak.desired);
      assert.ok(d.desired >= peak.desired, `no scale-down in panic (${d.desired} < ${peak.desired} at ${i})`);
    }
    advance(4_000);
    const calm = autoscaler.decide(peak.desired);
    assert.equal(calm.panic, false);
    assert.ok(calm.desired < peak.desired);
  });

  it('scales down only once the stable window has seen the fall', () => {
    const { autoscaler, advance } = scaler();
    autoscaler.observe(8);
    advance(60_000);
    assert.equal(autoscaler.decide(8).desired, 8);
    autoscaler.observe(1);
    advance(10_000);
    assert.equal(autoscaler.decide(8).desired, 8, 'ten seconds after the fall the stable window still averages high');
    advance(30_000);
    const half = autoscaler.decide(8).desired;
    assert.ok(half < 8 && half > 2, `halfway: ${half}`);
    advance(21_000);
    const after = autoscaler.decide(8);
    assert.equal(after.panic, false);
    assert.equal(after.desired, 2);
  });

  it('keeps every decision within minSandboxes..maxSandboxes', () => {
    const low = scaler({ minSandboxes: 3, maxSandboxes: 5 });
    low.advance(60_000);
    assert.equal(low.autoscaler.decide(3).desired, 3, 'no load: minSandboxes');
    low.autoscaler.observe(100);
    low.advance(60_000);
    assert.equal(low.autoscaler.decide(5).desired, 5, 'a flood: maxSandboxes');
    const wide = scaler({ targetConcurrency: 10, maxSandboxes: 100 });
    wide.autoscaler.observe(70);
    wide.advance(60_000);
    assert.equal(wide.autoscaler.decide(10).desired, 10, '70 calls at 10 per sandbox, 70% full');
  });
});
