// The Engines page: what `nimbus doctor` says about each engine on this host
// (GET /v1/engines: available or why not, what it can do), the microVM's
// accelerator (KVM or TCG binary translation, and why), and each engine's
// measured cold and warm latency placed against application latency classes
// (GET /v1/reports/latency): real-time ≤ 10 ms, interactive ≤ 100 ms, batch.
import './ops.css';
import type { PageProps } from '../router.ts';
import { Guard, ms, useApi } from '../ui.tsx';

interface EngineReport {
  available: boolean;
  reason: string;
  details?: Record<string, unknown>;
  capabilities?: Record<string, true | string | boolean>;
}

interface LatencyStats {
  calls: number;
  p50Ms: number | null;
  p99Ms: number | null;
  class: string | null;
}

interface Latency {
  from: string;
  to: string;
  classes: { name: string; maxMs: number | null }[];
  engines: { engine: string; cold: LatencyStats; warm: LatencyStats }[];
  message?: string;
}

export function EnginesPage(_props: PageProps) {
  const engines = useApi<{ engines: Record<string, EngineReport> }>('/v1/engines');
  const latency = useApi<Latency>('/v1/reports/latency?window=24h');
  return (
    <>
      <h1>Engines</h1>
      <Guard loaded={engines}>{(data) => <Doctor engines={data.engines} />}</Guard>
      <h2>Latency classes (last 24 h)</h2>
      <Guard loaded={latency}>{(data) => <LatencyClasses report={data} />}</Guard>
    </>
  );
}

function Doctor({ engines }: { engines: Record<string, EngineReport> }) {
  const microvm = engines.microvm;
  const accel = microvm?.details?.accelerator;
  return (
    <>
      <p class="card" data-testid="accelerator">
        <b>Accelerator: </b>
        {accel === 'kvm'
          ? 'KVM (hardware virtualization)'
          : accel === 'tcg'
            ? 'TCG (QEMU dynamic binary translation)'
            : 'none (the microvm engine is not available)'}
        {microvm?.details?.acceleratorReason ? (
          <span class="muted"> — {String(microvm.details.acceleratorReason)}</span>
        ) : null}
      </p>
      <table>
        <thead>
          <tr>
            <th>engine</th>
            <th>available</th>
            <th>what nimbus doctor says</th>
            <th>resize</th>
            <th>migrate</th>
            <th>snapshot</th>
          </tr>
        </thead>
        <tbody>
          {Object.entries(engines).map(([name, e]) => (
            <tr data-engine={name}>
              <td>{name}</td>
              <td>
                <span class={`badge ${e.available ? 'ok' : 'bad'}`}>{e.available ? 'yes' : 'no'}</span>
              </td>
              <td>{e.reason}</td>
              {(['resize', 'migrate', 'snapshot'] as const).map((cap) => {
                const v = e.capabilities?.[cap];
                return <td title={typeof v === 'string' ? v : undefined}>{v === true ? 'yes' : v ? 'no' : '—'}</td>;
              })}
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

/** Log-scale position of a latency on the lanes' axis, 0.1 ms … 100 s, as a percentage. */
function position(msValue: number): number {
  const lo = Math.log10(0.1);
  const hi = Math.log10(100_000);
  return Math.max(0, Math.min(100, ((Math.log10(Math.max(msValue, 0.1)) - lo) / (hi - lo)) * 100));
}

function LatencyClasses({ report }: { report: Latency }) {
  if (report.engines.length === 0) return <p class="muted">{report.message}</p>;
  const bands = [
    { cls: 'real-time', from: 0, to: position(10) },
    { cls: 'interactive', from: position(10), to: position(100) },
    { cls: 'batch', from: position(100), to: 100 },
  ];
  return (
    <>
      <table data-testid="latency-table">
        <thead>
          <tr>
            <th>engine</th>
            <th class="num">cold calls</th>
            <th class="num">cold p50</th>
            <th class="num">cold p99</th>
            <th>cold class</th>
            <th class="num">warm calls</th>
            <th class="num">warm p50</th>
            <th class="num">warm p99</th>
            <th>warm class</th>
          </tr>
        </thead>
        <tbody>
          {report.engines.map((e) => (
            <tr data-engine={e.engine}>
              <td>{e.engine}</td>
              <Stats s={e.cold} />
              <Stats s={e.warm} />
            </tr>
          ))}
        </tbody>
      </table>
      <div class="card lanes" aria-label="cold and warm p99 against the latency classes (log scale)">
        <div class="lane">
          <span class="name muted">class</span>
          <div class="track">
            {bands.map((b) => (
              <span class="band-label" style={{ left: `${b.from}%`, width: `${b.to - b.from}%` }}>
                {b.cls}
              </span>
            ))}
          </div>
        </div>
        {report.engines.map((e) => (
          <div class="lane">
            <span class="name">{e.engine}</span>
            <div class="track">
              {bands.map((b) => (
                <div class={`band cls-${b.cls}`} style={{ left: `${b.from}%`, width: `${b.to - b.from}%` }} />
              ))}
              {e.cold.p99Ms !== null && (
                <div
                  class="mark cold"
                  title={`cold p99 ${ms(e.cold.p99Ms)}`}
                  style={{ left: `${position(e.cold.p99Ms)}%` }}
                />
              )}
              {e.warm.p99Ms !== null && (
                <div
                  class="mark warm"
                  title={`warm p99 ${ms(e.warm.p99Ms)}`}
                  style={{ left: `${position(e.warm.p99Ms)}%` }}
                />
              )}
            </div>
          </div>
        ))}
        <div class="legend">
          <span>
            <i class="init" />
            cold p99
          </span>
          <span>
            <i class="run" />
            warm p99
          </span>
          <span>bands: real-time ≤ 10 ms · interactive ≤ 100 ms · batch; axis 0.1 ms to 100 s, log scale</span>
        </div>
      </div>
    </>
  );
}

function Stats({ s }: { s: LatencyStats }) {
  return (
    <>
      <td class="num">{s.calls}</td>
      <td class="num">{ms(s.p50Ms)}</td>
      <td class="num">{ms(s.p99Ms)}</td>
      <td>{s.class ? <span class={`badge cls-${s.class}`}>{s.class}</span> : '—'}</td>
    </>
  );
}
