// Aliases of a function: PUT /v1/functions/:name/aliases/:alias {version,
// weights?} makes or moves one (a move is the rollback), GET lists them or
// shows one, DELETE removes one (409 while a trigger, a sequence step or a
// destination names it as name:alias: version-referrers.ts). `weights` {"4": 0.1} sends that share of the
// alias's calls to version 4 (a canary), drawn per call; the rest go to
// `version`. In the caller's namespace: another's function is a 404.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { NimbusError } from '../../shared/errors.ts';
import { deleteAlias, getAlias, listAliases, putAlias, type AliasRecord } from '../../storage/aliases.ts';
import type { Store } from '../../storage/store.ts';
import { principalOf } from '../../tenancy/principal.ts';
import { scopedName } from '../../tenancy/scope.ts';
import { parseOrThrow } from '../build/function-spec.ts';
import { isJson, parseJson, rawBody } from '../request-body.ts';
import { checkAliasName } from '../targets.ts';
import { referrers } from '../version-referrers.ts';

type Params = { name: string; alias: string };

/** At most this many canary versions beside an alias's own. */
const MAX_WEIGHTS = 10;

const AliasBody = z
  .object({
    version: z.number().int().min(1).max(999_999_999),
    weights: z
      .record(
        z.string().regex(/^[1-9][0-9]{0,8}$/, 'a weight is keyed by a version number, e.g. {"4": 0.1}'),
        z.number().min(0, 'a weight is from 0 to 1').max(1, 'a weight is from 0 to 1'),
      )
      .optional(),
  })
  .strict();

/** The body, checked: weights for other versions only, at most MAX_WEIGHTS, together at most 1; zero weights dropped. */
function aliasBody(raw: unknown): { version: number; weights: Record<string, number> } {
  const body = parseOrThrow(AliasBody, raw, 'alias');
  const weights = Object.fromEntries(Object.entries(body.weights ?? {}).filter(([, w]) => w > 0));
  if (String(body.version) in weights)
    throw new NimbusError(
      'bad_request',
      `weights name the alias's own version ${body.version}; weights are for the other versions (the rest of the calls go to version)`,
    );
  if (Object.keys(weights).length > MAX_WEIGHTS)
    throw new NimbusError('bad_request', `at most ${MAX_WEIGHTS} weighted versions per alias`);
  const total = Object.values(weights).reduce((a, b) => a + b, 0);
  if (total > 1 + 1e-9)
    throw new NimbusError('bad_request', `the weights add up to ${total}, over 1; together they may be at most 1`);
  return { version: body.version, weights };
}

const present = (name: string, a: AliasRecord) => ({
  name,
  alias: a.alias,
  version: a.version,
  weights: a.weights,
  updatedAt: a.updatedAt,
});

export function aliasRoutes(app: FastifyInstance, store: Store): void {
  /** The qualified name of a function that exists in the caller's namespace, else a 404. */
  const existing = async (fn: string, name: string): Promise<string> => {
    if (!(await store.getFunction(fn)))
      throw new NimbusError('not_found', `function "${name}" does not exist; deploy it with PUT /v1/functions/${name}`);
    return fn;
  };
  const noAlias = (name: string, alias: string) =>
    new NimbusError('not_found', `function "${name}" has no alias "${alias}"; see GET /v1/functions/${name}/aliases`);

  app.get<{ Params: Pick<Params, 'name'> }>('/v1/functions/:name/aliases', async (request) => {
    const { name } = request.params;
    const fn = await existing(scopedName(principalOf(request, 'read'), name), name);
    return { name, aliases: (await listAliases(store.sql, fn)).map((a) => present(name, a)) };
  });

  app.get<{ Params: Params }>('/v1/functions/:name/aliases/:alias', async (request) => {
    const { name, alias } = request.params;
    const fn = await existing(scopedName(principalOf(request, 'read'), name), name);
    const found = await getAlias(store.sql, fn, checkAliasName(alias));
    if (!found) throw noAlias(name, alias);
    return present(name, found);
  });

  app.put<{ Params: Params }>('/v1/functions/:name/aliases/:alias', async (request, reply) => {
    const { name, alias } = request.params;
    const fn = await existing(scopedName(principalOf(request, 'deploy'), name), name);
    checkAliasName(alias);
    if (!isJson(request)) throw new NimbusError('bad_request', 'send the alias as JSON {version, weights?}');
    const body = aliasBody(parseJson(rawBody(request), 'the alias'));
    const put = await putAlias(store.sql, { functionName: fn, alias, ...body });
    return reply.code(put.created ? 201 : 200).send(present(name, put.alias));
  });

  app.delete<{ Params: Params }>('/v1/functions/:name/aliases/:alias', async (request) => {
    const { name, alias } = request.params;
    const fn = await existing(scopedName(principalOf(request, 'deploy'), name), name);
    const named = await referrers(store, fn, checkAliasName(alias));
    if (named.length)
      throw new NimbusError(
        'conflict',
        `alias "${alias}" of "${name}" is named as ${name}:${alias} by ${named.join(', ')}; point them elsewhere or delete them first`,
      );
    if (!(await deleteAlias(store.sql, fn, alias))) throw noAlias(name, alias);
    return { name, deleted: alias };
  });
}
