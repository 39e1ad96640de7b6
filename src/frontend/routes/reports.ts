// GET /v1/reports/cost: the recorded calls of the caller's namespace (or one of
// its functions) priced as serverless against always-on VMs, per time bucket
// (src/reports/). Prices come from the platform's config; query parameters
// override them for one report.
import type { FastifyInstance } from 'fastify';
import type { NimbusConfig } from '../../config/options.ts';
import type { Store } from '../../storage/store.ts';
import { checkFunctionName } from '../build/function-spec.ts';
import { qualify } from '../../tenancy/names.ts';
import { principalOf } from '../../tenancy/principal.ts';
import { recordsSince } from '../../tenancy/incarnation.ts';
import { readCalls } from '../../reports/calls.ts';
import { costReport } from '../../reports/cost.ts';
import { checkCostQuery, pricesOf, windowOf } from '../../reports/cost-query.ts';

export function reportRoutes(app: FastifyInstance, store: Store, config: NimbusConfig): void {
  app.get<{ Querystring: Record<string, unknown> }>('/v1/reports/cost', async (request) => {
    const p = principalOf(request, 'read');
    const q = checkCostQuery(request.query);
    const window = windowOf(q);
    const prices = pricesOf(q, config);
    // Only the principal's namespace: a name is qualified in it, and the listing is confined to it.
    const functionName = q.function ? qualify(p.namespace, checkFunctionName(q.function)) : undefined;
    // Never a record of an earlier namespace of that name (tenancy/incarnation.ts).
    const since = await recordsSince(store.sql, p.namespace);
    const fromMs = since === undefined ? window.fromMs : Math.max(window.fromMs, Date.parse(since));
    const calls =
      fromMs >= window.toMs ? [] : await readCalls(store, { namespace: p.namespace, functionName, ...window, fromMs });
    return {
      namespace: p.namespace,
      ...(q.function ? { function: q.function } : {}),
      ...costReport(calls, window, prices),
    };
  });
}
