// The Metrics page (/charts; /metrics is the Prometheus text): invocations per
// second, p50/p99 run duration and cold-start share per engine over the last
// hour, from the platform's own activation records (GET /v1/reports/metrics),
// drawn with uPlot and refreshed every minute (a step is a minute; each
// refresh reads the hour's records again).
import { useEffect } from 'preact/hooks';
import './ops.css';
import type { PageProps } from '../router.ts';
import { Plot, type PlotSeries } from '../plot.tsx';
import { Guard, ms, useApi } from '../ui.tsx';
import type { MetricsColumns as Columns, MetricsReport as Metrics } from '../../reports/metrics.ts';

export const ENGINE_COLORS: Record<string, string> = {
  process: '#2563eb',
  isolate: '#10b981',
  container: '#f59e0b',
  microvm: '#b91c1c',
};

const pct = (v: number | null) => (v === null ? '—' : `${(v * 100).toFixed(v < 0.1 ? 1 : 0)}%`);

export function MetricsPage(_props: PageProps) {
  const metrics = useApi<Metrics>('/v1/reports/metrics?window=1h&step=1m');
  useEffect(() => {
    const timer = setInterval(metrics.reload, 60_000);
    return () => clearInterval(timer);
  }, [metrics.reload]);
  return (
    <>
      <h1>Metrics</h1>
      <p class="muted">The last hour per engine, a point a minute, from this namespace's activation records.</p>
      <Guard loaded={metrics}>{(m) => <Charts m={m} />}</Guard>
    </>
  );
}

function Charts({ m }: { m: Metrics }) {
  if (m.engines.length === 0) return <p class="muted">{m.message}</p>;
  const x = m.steps.map((t) => Date.parse(t) / 1000);
  const each = (pick: (c: Columns) => (number | null)[], suffix = '', dashed = false): PlotSeries[] =>
    m.engines.map((e) => ({
      label: `${e.engine}${suffix}`,
      color: ENGINE_COLORS[e.engine] ?? '#5f6b7a',
      values: pick(e.steps),
      dashed,
    }));
  return (
    <>
      <table data-testid="metrics-totals">
        <thead>
          <tr>
            <th>engine</th>
            <th class="num">calls</th>
            <th class="num">per second</th>
            <th class="num">p50</th>
            <th class="num">p99</th>
            <th class="num">cold starts</th>
          </tr>
        </thead>
        <tbody>
          {m.engines.map((e) => (
            <tr data-engine={e.engine}>
              <td>{e.engine}</td>
              <td class="num">{e.totals.calls}</td>
              <td class="num">{e.totals.perSecond.toFixed(3)}</td>
              <td class="num">{ms(e.totals.p50Ms)}</td>
              <td class="num">{ms(e.totals.p99Ms)}</td>
              <td class="num">
                {e.totals.coldStarts} ({pct(e.totals.coldShare)})
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <h2>Invocations per second</h2>
      <Plot title="invocations per second" x={x} series={each((c) => c.perSecond)} format={(v) => v.toFixed(2)} />
      <h2>Run duration, p50 (solid) and p99 (dashed)</h2>
      <Plot
        title="duration ms"
        x={x}
        series={[...each((c) => c.p50Ms, ' p50'), ...each((c) => c.p99Ms, ' p99', true)]}
        format={(v) => ms(v)}
      />
      <h2>Cold-start share</h2>
      <Plot title="cold-start share" x={x} series={each((c) => c.coldShare)} format={(v) => pct(v)} />
    </>
  );
}
