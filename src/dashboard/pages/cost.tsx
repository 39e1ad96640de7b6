// The Cost page: the cost report (GET /v1/reports/cost) as a chart of the
// serverless and always-on VM cost per bucket (log scale: they are often
// orders of magnitude apart), the totals, the ratio and the break-even
// utilization. The window and bucket are in the URL, so back and reload keep them.
import { useMemo } from 'preact/hooks';
import './ops.css';
import { query } from '../api.ts';
import { navigate, type PageProps } from '../router.ts';
import { Plot } from '../plot.tsx';
import { Guard, useApi } from '../ui.tsx';
import type { BucketCost as Bucket, CostReport } from '../../reports/cost.ts';

const WINDOWS: Record<string, number> = { '15m': 900_000, '1h': 3_600_000, '6h': 21_600_000, '24h': 86_400_000 };
const BUCKETS = ['1m', '5m', '15m', '1h'];

export function usd(v: number): string {
  if (v === 0) return '$0';
  return v >= 0.01 ? `$${v.toFixed(2)}` : `$${v.toPrecision(3)}`;
}
const pct = (v: number | null) => (v === null ? '—' : `${(v * 100).toFixed(1)}%`);

export function CostPage({ search }: PageProps) {
  const window = search.get('window') && WINDOWS[search.get('window')!] ? search.get('window')! : '1h';
  const bucket = BUCKETS.includes(search.get('bucket') ?? '') ? search.get('bucket')! : '5m';
  const refresh = search.get('at') ?? '';
  // One `from` per choice (and per Refresh): a new one each render would fetch for ever.
  const path = useMemo(() => {
    // Both ends from here: the server's own "now" would add a last bucket a few ms long.
    const to = Date.now();
    const from = new Date(to - WINDOWS[window]!).toISOString();
    return `/v1/reports/cost${query({ from, to: new Date(to).toISOString(), bucket })}`;
  }, [window, bucket, refresh]);
  const report = useApi<CostReport>(path);
  const choose = (w: string, b: string, at = '') => navigate(`/cost${query({ window: w, bucket: b, at })}`);
  return (
    <>
      <h1>Cost: serverless against always-on VMs</h1>
      <div class="filters">
        <label>
          Window
          <select name="window" value={window} onChange={(e) => choose((e.target as HTMLSelectElement).value, bucket)}>
            {Object.keys(WINDOWS).map((w) => (
              <option value={w}>last {w}</option>
            ))}
          </select>
        </label>
        <label>
          Bucket
          <select name="bucket" value={bucket} onChange={(e) => choose(window, (e.target as HTMLSelectElement).value)}>
            {BUCKETS.map((b) => (
              <option value={b}>{b}</option>
            ))}
          </select>
        </label>
        <button onClick={() => choose(window, bucket, String(Date.now()))}>Refresh</button>
      </div>
      <Guard loaded={report}>{(r) => <Report r={r} />}</Guard>
    </>
  );
}

function Report({ r }: { r: CostReport }) {
  const t = r.totals;
  const verdict =
    t.vmOverServerless === null
      ? r.message
      : t.vmOverServerless >= 1
        ? `Serverless is ${t.vmOverServerless.toFixed(2)}× cheaper here; ${
            (t.breakEvenUtilization ?? 0) > 1
              ? `the VMs would not win even kept fully busy (break-even ${pct(t.breakEvenUtilization)} utilization)`
              : `the VMs would win only above ${pct(t.breakEvenUtilization)} utilization`
          } (they ran at ${pct(t.utilization)}).`
        : `The always-on VMs are ${(1 / t.vmOverServerless).toFixed(2)}× cheaper here: they ran at ${pct(t.utilization)}, above the break-even ${pct(t.breakEvenUtilization)}.`;
  return (
    <>
      <div class="totals" data-testid="cost-totals">
        <div>
          calls<b>{t.calls}</b>
        </div>
        <div>
          serverless<b>{usd(t.serverlessUsd)}</b>
        </div>
        <div>
          always-on VMs ({r.vms} × {r.prices.vmVcpus} vCPU, {r.prices.vmMemoryMb} MB)<b>{usd(t.vmUsd)}</b>
        </div>
        <div>
          VM / serverless<b>{t.vmOverServerless === null ? '—' : `${t.vmOverServerless.toFixed(2)}×`}</b>
        </div>
        <div>
          utilization<b>{pct(t.utilization)}</b>
        </div>
        <div>
          break-even utilization<b>{pct(t.breakEvenUtilization)}</b>
        </div>
        <div>
          peak concurrency<b>{r.peakConcurrency}</b>
        </div>
      </div>
      <p data-testid="cost-verdict">{verdict}</p>
      <Plot
        title="cost per bucket, USD (log scale)"
        x={r.buckets.map((b) => Date.parse(b.from) / 1000)}
        series={[
          { label: 'serverless', color: '#2563eb', values: r.buckets.map((b) => b.serverlessUsd) },
          { label: 'always-on VMs', color: '#b45309', values: r.buckets.map((b) => b.vmUsd) },
        ]}
        format={usd}
        axisFormat={(v) => (v >= 0.01 ? `$${v.toFixed(2)}` : `$${v.toExponential(0)}`)}
        logY
        stepped
        height={280}
      />
      <details>
        <summary>Buckets</summary>
        <table>
          <thead>
            <tr>
              <th>bucket (local time)</th>
              <th class="num">calls</th>
              <th class="num">peak</th>
              <th class="num">serverless</th>
              <th class="num">VMs</th>
              <th class="num">VM/serverless</th>
              <th class="num">utilization</th>
              <th class="num">break-even</th>
            </tr>
          </thead>
          <tbody>
            {r.buckets.map((b) => (
              <tr>
                <td>{new Date(b.from).toLocaleTimeString()}</td>
                <td class="num">{b.calls}</td>
                <td class="num">{b.peakConcurrency}</td>
                <td class="num">{usd(b.serverlessUsd)}</td>
                <td class="num">{usd(b.vmUsd)}</td>
                <td class="num">{b.vmOverServerless === null ? '—' : `${b.vmOverServerless.toFixed(2)}×`}</td>
                <td class="num">{pct(b.utilization)}</td>
                <td class="num">{pct(b.breakEvenUtilization)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </>
  );
}
