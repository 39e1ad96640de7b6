// A uPlot line chart as a Preact component, for the metrics and cost pages:
// one shared time axis (epoch seconds) and any number of series, drawn again
// when the data changes and destroyed with the component. A log scale is for
// series apart by orders of magnitude (serverless against VM cost); it cannot
// draw zero, so zeros become gaps there.
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';

export interface PlotSeries {
  label: string;
  color: string;
  values: (number | null)[];
  /** A dashed line (e.g. p99 beside a solid p50). */
  dashed?: boolean;
}

export interface PlotProps {
  title: string;
  /** Epoch seconds, one per value of every series. */
  x: number[];
  series: PlotSeries[];
  /** How a value is printed in the legend, and on the axis unless `axisFormat`. */
  format?: (v: number) => string;
  /** How an axis tick is printed (short: the axis is narrow). */
  axisFormat?: (v: number) => string;
  logY?: boolean;
  height?: number;
  /** Draws each series as steps (a value holds for its whole bucket). */
  stepped?: boolean;
}

export function Plot({ title, x, series, format, axisFormat, logY = false, height = 220, stepped = false }: PlotProps) {
  const box = useRef<HTMLDivElement>(null);
  const key = JSON.stringify([title, x, series, logY, height, stepped]);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const fmt = format ?? ((v: number) => String(v));
    const tick = axisFormat ?? fmt;
    const clean = (v: number | null) => (v === null || (logY && v <= 0) ? null : v);
    const plot = new uPlot(
      {
        title,
        width: Math.max(320, el.clientWidth || 800),
        height,
        scales: {
          x: { time: true },
          y: logY ? { distr: 3 } : { range: (_u, min, max) => [Math.min(0, min), max || 1] },
        },
        axes: [{}, { size: 70, values: (_u, ticks) => ticks.map((t) => (t === null ? '' : tick(t))) }],
        series: [
          {},
          ...series.map((s) => ({
            label: s.label,
            stroke: s.color,
            width: 2,
            ...(s.dashed ? { dash: [6, 4] } : {}),
            value: (_u: uPlot, v: number | null) => (v === null ? '—' : fmt(v)),
            // Points where a line may not show: few buckets, or a value between gaps.
            points: { show: x.length <= 120, size: 6, fill: s.color },
            ...(stepped ? { paths: uPlot.paths.stepped!({ align: 1 }) } : {}),
          })),
        ],
      },
      [x, ...series.map((s) => s.values.map(clean))] as uPlot.AlignedData,
      el,
    );
    return () => plot.destroy();
  }, [key]);
  return <div class="plot" data-plot={title} ref={box} />;
}
