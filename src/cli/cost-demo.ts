// `nimbus report cost --demo spiky|steady`: drives a real, bounded load at an
// example function of a nimbus on this machine (deployed when absent), so the
// report that follows is computed from measured calls. Spiky: a call a second
// with bursts of many calls at once, the load where serverless wins by far;
// steady: a few calls always running, where always-on VMs are busy and win.
import { api, apiBase, check, CliError } from './client.ts';

export const DEMO_FUNCTION = 'cost-demo';
export const DEMO_KINDS = ['spiky', 'steady'] as const;
export type DemoKind = (typeof DEMO_KINDS)[number];
export const MAX_DEMO_MS = 5 * 60_000;
const CALL_MS = 200;
/** A steady call runs longer, so the few calls keep the VM's vCPUs busy between the HTTP round trips. */
const STEADY_CALL_MS = 1000;
/** 1 GB a call: at Lambda's and EC2's list prices the VMs win above about 70% utilization, so steady shows them winning. */
const MEMORY_MB = 1024;
const BURST_CONCURRENCY = 8;
const STEADY_CONCURRENCY = 2;
const CODE = `// Waits event.ms (default ${CALL_MS}) milliseconds: a stand-in for a call's work in the cost demo.
export const handler = async (event) => {
  await new Promise((resolve) => setTimeout(resolve, Math.min(Number(event?.ms) || ${CALL_MS}, 5000)));
  return { ok: true };
};
`;

export interface DemoResult {
  fromMs: number;
  toMs: number;
  statuses: Record<string, number>;
}

/** Only a nimbus on loopback: the demo is load, and load is for one's own machine. */
function requireLoopback(): void {
  const host = new URL(apiBase()).hostname.replace(/^\[|\]$/g, '');
  if (!(host === 'localhost' || host === '::1' || /^127\./.test(host)))
    throw new CliError(
      `--demo drives load only at a nimbus on this machine (127.0.0.1), not ${host}; set NIMBUS_URL`,
      2,
    );
}

async function ensureFunction(engine: string | undefined): Promise<void> {
  const found = await api('GET', `/v1/functions/${DEMO_FUNCTION}`);
  if (found.status === 200 && !engine) return;
  if (found.status !== 200 && found.status !== 404) check(found);
  const config = {
    runtime: 'nodejs',
    code: CODE,
    memoryMb: MEMORY_MB,
    maxSandboxes: BURST_CONCURRENCY,
    ...(engine ? { engine } : {}),
  };
  check(await api('PUT', `/v1/functions/${DEMO_FUNCTION}`, { json: config }));
}

/** Runs the load for durationMs and says when it ran and what the calls answered. */
export async function runDemo(kind: DemoKind, durationMs: number, engine?: string): Promise<DemoResult> {
  requireLoopback();
  await ensureFunction(engine);
  const statuses: Record<string, number> = {};
  const fromMs = Date.now();
  const until = fromMs + durationMs;
  const callMs = kind === 'steady' ? STEADY_CALL_MS : CALL_MS;
  const callOnce = async () => {
    const r = await api('POST', `/v1/functions/${DEMO_FUNCTION}/invoke`, { json: { ms: callMs } });
    statuses[r.status] = (statuses[r.status] ?? 0) + 1;
    // Throttled or over a quota: back off instead of hammering.
    if (r.status === 429 || r.status >= 500) await sleep(250);
  };
  const loop = async (active: (now: number) => boolean, gapMs: number) => {
    while (Date.now() < until) {
      if (active(Date.now())) await callOnce();
      await sleep(gapMs);
    }
  };
  if (kind === 'steady') {
    await Promise.all(Array.from({ length: STEADY_CONCURRENCY }, () => loop(() => true, 0)));
  } else {
    // Four bursts, each a fifth of its quarter of the run, over a baseline of a call a second.
    const period = durationMs / 4;
    const burstMs = period / 5;
    const inBurst = (now: number) =>
      (now - fromMs) % period >= period / 2 && (now - fromMs) % period < period / 2 + burstMs;
    await Promise.all([loop(() => true, 1000), ...Array.from({ length: BURST_CONCURRENCY }, () => loop(inBurst, 20))]);
  }
  return { fromMs, toMs: Date.now() + 1, statuses };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
