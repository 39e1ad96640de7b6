// The simulation checked against the real thing: a slice of the trace,
// time-compressed (every interval divided by `compression`, keep-alive,
// histogram bin and autoscaler windows too), replayed against a real embedded
// platform with real process sandboxes, and through the simulation (trace-sim.ts)
// with the same compressed settings. Each call's cold/warm answer
// (x-nimbus-cold-start) is compared with the simulation's for the same call.
// One sandbox per function (maxSandboxes 1) in both: compressed, a burst's
// calls come milliseconds apart, closer than a real process cold start, and
// the check is about keep-alive and pre-warm, not about overlapping calls.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { resolveConfig, type NimbusOptions } from '../src/config/options.ts';
import { startPlatform } from '../src/platform.ts';
import type { Trace } from './trace-gen.ts';
import { replay, type Policy } from './trace-sim.ts';

const HANDLER = 'exports.handler = async (e) => { await new Promise((r) => setTimeout(r, e.ms)); return 1; };';

export interface SliceCheck {
  calls: number;
  realCold: number;
  simCold: number;
  /** Calls whose cold/warm answer was the same in both. */
  agree: number;
  /** Per shape: [calls, agreeing]. */
  byShape: Record<string, [number, number]>;
  /** Calls that failed on the platform (left out of the comparison). */
  failed: number;
}

/** The calls of `trace` in [fromMs, toMs) of the functions `keep` accepts, every time divided by `compression`. */
export function compressedSlice(
  trace: Trace,
  fromMs: number,
  toMs: number,
  compression: number,
  keep: (fn: number) => boolean,
): Trace {
  const calls = trace.calls
    .filter((c) => c.at >= fromMs && c.at < toMs && keep(c.fn))
    .map((c) => ({
      fn: c.fn,
      at: (c.at - fromMs) / compression,
      durationMs: Math.max(1, Math.round(c.durationMs / compression)),
    }));
  return { hours: (toMs - fromMs) / compression / 3_600_000, functions: trace.functions, calls };
}

export async function checkSlice(slice: Trace, policy: Policy, compression: number): Promise<SliceCheck> {
  const fixedKeepAliveMs = Math.round(600_000 / compression);
  const options: NimbusOptions = {
    keepAliveMs: fixedKeepAliveMs,
    keepAliveBinMs: Math.round(60_000 / compression),
    autoscaleStableWindowMs: Math.max(100, Math.round(60_000 / compression)),
    autoscalePanicWindowMs: Math.max(10, Math.round(6_000 / compression)),
    autoscaleIntervalMs: Math.max(10, Math.round(2_000 / compression)),
  };
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'nimbus-bench-trace-'));
  const platform = await startPlatform({ port: 0, logLevel: 'silent', dataDir, ...options });
  const realCold: (boolean | undefined)[] = new Array(slice.calls.length).fill(undefined);
  try {
    const used = [...new Set(slice.calls.map((c) => c.fn))];
    for (const fn of used) {
      const res = await fetch(`${platform.url}/v1/functions/trace-${policy}-${fn}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          runtime: 'nodejs',
          code: HANDLER,
          maxSandboxes: 1,
          ...(policy === 'fixed' ? { keepAlive: fixedKeepAliveMs } : {}),
        }),
      });
      if (res.status !== 201) throw new Error(`deploy failed: ${res.status} ${await res.text()}`);
    }
    const start = performance.now();
    const inflight: Promise<void>[] = [];
    for (let i = 0; i < slice.calls.length; i++) {
      const call = slice.calls[i];
      if (!call) continue;
      const wait = call.at - (performance.now() - start);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      inflight.push(
        fetch(`${platform.url}/v1/functions/trace-${policy}-${call.fn}/invoke`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ ms: call.durationMs }),
        }).then(
          async (res) => {
            await res.text();
            if (res.status === 200) realCold[i] = res.headers.get('x-nimbus-cold-start') === 'true';
          },
          () => undefined,
        ),
      );
    }
    await Promise.all(inflight);
  } finally {
    await platform.close();
    await rm(dataDir, { recursive: true, force: true });
  }
  const sim = await replay(slice, policy, {
    config: resolveConfig({ dataDir, ...options }),
    fixedKeepAliveMs,
    binMs: options.keepAliveBinMs,
    maxSandboxes: 1,
    stepMs: Math.max(1, Math.round(250 / compression)),
  });
  const byShape: Record<string, [number, number]> = {};
  let agree = 0;
  let failed = 0;
  slice.calls.forEach((c, i) => {
    const real = realCold[i];
    if (real === undefined) return void failed++;
    const shape = slice.functions[c.fn]?.shape ?? '?';
    const row = (byShape[shape] ??= [0, 0]);
    row[0]++;
    if (real === sim.coldByCall[i]) {
      agree++;
      row[1]++;
    }
  });
  return {
    calls: slice.calls.length - failed,
    realCold: realCold.filter((c) => c === true).length,
    simCold: sim.coldByCall.filter((c, i) => c && realCold[i] !== undefined).length,
    agree,
    byShape,
    failed,
  };
}
