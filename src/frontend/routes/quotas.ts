// A namespace's quotas, root only: PATCH /v1/namespaces/:ns {quotas} changes
// them (a number sets a quota, null removes it, a quota left out stays) and
// answers as GET /v1/namespaces/:ns does: the namespace, its quotas and what it
// uses now.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { SqlDb } from '../../storage/sql-db.ts';
import { checkNamespaceName } from '../../tenancy/names.ts';
import { getNamespace, namespaceNotFound } from '../../tenancy/namespaces.ts';
import { principalOf } from '../../tenancy/principal.ts';
import { QuotaSpec, parseQuotas } from '../../tenancy/quota-spec.ts';
import type { QuotaGate } from '../../tenancy/quotas.ts';
import { parseOrThrow } from '../build/function-spec.ts';
import { parseJson, rawBody } from '../request-body.ts';

/** Each quota a number (set it) or null (remove it). */
const QuotaPatch = z
  .object({
    quotas: z
      .object(Object.fromEntries(Object.keys(QuotaSpec.shape).map((k) => [k, z.number().nullable().optional()])))
      .strict(),
  })
  .strict();

export function quotaRoutes(app: FastifyInstance, sql: SqlDb, gate: QuotaGate): void {
  app.patch<{ Params: { ns: string } }>('/v1/namespaces/:ns', async (request) => {
    principalOf(request, 'root');
    const ns = checkNamespaceName(request.params.ns);
    const patch = parseOrThrow(QuotaPatch, parseJson(rawBody(request), 'the namespace change'), 'namespace change');
    const current = await getNamespace(sql, ns);
    if (!current) throw namespaceNotFound(ns);
    const merged: Record<string, unknown> = { ...current.quotas };
    for (const [k, v] of Object.entries(patch.quotas)) {
      if (v === null) delete merged[k];
      else if (v !== undefined) merged[k] = v;
    }
    const quotas = parseQuotas(merged);
    if ((await sql.run('UPDATE namespaces SET quotas = ? WHERE name = ?', [JSON.stringify(quotas), ns])) === 0)
      throw namespaceNotFound(ns);
    gate.forget(ns);
    return { ...current, quotas, usage: await gate.usage(ns) };
  });
}
