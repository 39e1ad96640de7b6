// A namespace's quotas, root only: PATCH /v1/namespaces/:ns {quotas} changes
// them (a number sets a quota, null removes it, a quota left out stays), and
// GET /v1/namespaces/:ns/quotas shows them with what the namespace uses now
// (root, or a key of that namespace).
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { SqlDb } from '../../storage/sql-db.ts';
import { checkNamespaceName } from '../../tenancy/names.ts';
import { namespaceNotFound } from '../../tenancy/namespaces.ts';
import { principalOf } from '../../tenancy/principal.ts';
import { QuotaSpec, parseQuotas, type Quotas } from '../../tenancy/quota-spec.ts';
import type { QuotaGate } from '../../tenancy/quotas.ts';
import { parseOrThrow } from '../build/function-spec.ts';
import { parseJson, rawBody } from '../request-body.ts';

type Params = { ns: string };

/** Each quota a number (set it) or null (remove it). */
const QuotaPatch = z
  .object({
    quotas: z
      .object(Object.fromEntries(Object.keys(QuotaSpec.shape).map((k) => [k, z.number().nullable().optional()])))
      .strict(),
  })
  .strict();

async function quotasRow(sql: SqlDb, ns: string): Promise<Quotas> {
  const row = await sql.get<{ quotas: string }>('SELECT quotas FROM namespaces WHERE name = ?', [ns]);
  if (!row) throw namespaceNotFound(ns);
  return parseQuotas(JSON.parse(row.quotas));
}

export function quotaRoutes(app: FastifyInstance, sql: SqlDb, gate: QuotaGate): void {
  const describe = async (ns: string, quotas: Quotas) => ({ namespace: ns, quotas, usage: await gate.usage(ns) });

  app.patch<{ Params: Params }>('/v1/namespaces/:ns', async (request) => {
    principalOf(request, 'root');
    const ns = checkNamespaceName(request.params.ns);
    const patch = parseOrThrow(
      QuotaPatch,
      parseJson(rawBody(request), 'the namespace change'),
      'namespace change',
    ).quotas;
    const merged: Record<string, unknown> = { ...(await quotasRow(sql, ns)) };
    for (const [k, v] of Object.entries(patch)) {
      if (v === null) delete merged[k];
      else if (v !== undefined) merged[k] = v;
    }
    const quotas = parseQuotas(merged);
    if ((await sql.run('UPDATE namespaces SET quotas = ? WHERE name = ?', [JSON.stringify(quotas), ns])) === 0)
      throw namespaceNotFound(ns);
    gate.forget(ns);
    return describe(ns, quotas);
  });

  // As GET /v1/namespaces/:ns: a key reads its own namespace's; any other is a 404.
  app.get<{ Params: Params }>('/v1/namespaces/:ns/quotas', async (request) => {
    const p = principalOf(request, 'read');
    const ns = checkNamespaceName(request.params.ns);
    if (p.role !== 'root' && ns !== p.namespace) throw namespaceNotFound(ns);
    return describe(ns, await quotasRow(sql, ns));
  });
}
