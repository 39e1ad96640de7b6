// GET /v1/reports/metrics and /v1/reports/latency: the caller's namespace's
// activation records read through the cost report's bounded reader
// (src/reports/calls.ts) and reduced to rates, percentiles, cold-start shares
// and latency classes per engine (src/reports/metrics.ts, latency.ts).
import type { FastifyInstance } from 'fastify';
import type { Store } from '../../storage/store.ts';
import { NimbusError } from '../../shared/errors.ts';
import { principalOf } from '../../tenancy/principal.ts';
import { recordsSince } from '../../tenancy/incarnation.ts';
import { readRecords } from '../../reports/calls.ts';
import { durationOf } from '../../reports/percentiles.ts';
import { metricsReport } from '../../reports/metrics.ts';
import { latencyReport } from '../../reports/latency.ts';
import { reportWindow, type ReportWindow } from '../../reports/metrics-query.ts';

export function metricsReportRoutes(app: FastifyInstance, store: Store): void {
  /** The namespace's finished calls of the window; never a record of an earlier namespace of that name. */
  const callsOf = async (namespace: string, w: ReportWindow) => {
    const since = await recordsSince(store.sql, namespace);
    const fromMs = since === undefined ? w.fromMs : Math.max(w.fromMs, Date.parse(since));
    if (fromMs >= w.toMs) return [];
    try {
      return await readRecords(store, { namespace, fromMs, toMs: w.toMs }, durationOf);
    } catch (e) {
      // The reader's refusal speaks of the cost report's from/to; these reports take a window.
      if (e instanceof NimbusError && e.code === 'bad_request')
        throw new NimbusError('bad_request', `${e.message.replace(/;.*$/, '')}; give a shorter window`);
      throw e;
    }
  };

  app.get<{ Querystring: Record<string, unknown> }>('/v1/reports/metrics', async (request) => {
    const p = principalOf(request, 'read');
    const w = reportWindow(request.query, { window: '1h', step: '1m' });
    return { namespace: p.namespace, ...metricsReport(await callsOf(p.namespace, w), w) };
  });

  app.get<{ Querystring: Record<string, unknown> }>('/v1/reports/latency', async (request) => {
    const p = principalOf(request, 'read');
    const w = reportWindow(request.query, { window: '24h' });
    return { namespace: p.namespace, ...latencyReport(await callsOf(p.namespace, w), w) };
  });
}
