// Routes for function programming: deploy, list, get, delete.
import type { FastifyInstance } from 'fastify';
import { describeVersion, type FunctionsService } from '../functions-service.ts';
import { isJson, parseJson, rawBody } from '../request-body.ts';
import { NimbusError } from '../../shared/errors.ts';
import { principalOf } from '../../tenancy/principal.ts';
import { scopedName } from '../../tenancy/scope.ts';

type Params = { name: string };

/** Deploy config for archives: the x-nimbus-config header (JSON) and/or query parameters. */
function archiveConfig(header: string | string[] | undefined, query: Record<string, string>): Record<string, unknown> {
  const fromHeader =
    typeof header === 'string' && header ? parseJson(Buffer.from(header), 'the x-nimbus-config header') : {};
  if (typeof fromHeader !== 'object' || fromHeader === null)
    throw new NimbusError('bad_request', 'x-nimbus-config must be a JSON object');
  const fromQuery: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(query)) {
    fromQuery[k] = /^(memoryMb|timeoutMs|concurrency|minSandboxes|maxSandboxes)$/.test(k)
      ? Number(v)
      : k === 'network'
        ? v === 'true'
        : v;
  }
  return { ...fromHeader, ...fromQuery };
}

/** `?dryRun=1|true` builds and checks a deploy and says what it would change, storing nothing (`nimbus deploy` plans with it). */
function dryRunOf(query: Record<string, string>): { dryRun: boolean; rest: Record<string, string> } {
  const { dryRun: q, ...rest } = query;
  if (q === undefined) return { dryRun: false, rest };
  if (!['1', 'true', '0', 'false'].includes(q))
    throw new NimbusError('bad_request', `dryRun must be 1, true, 0 or false, not ${JSON.stringify(q)}`);
  return { dryRun: q === '1' || q === 'true', rest };
}

export function functionRoutes(app: FastifyInstance, functions: FunctionsService, deployLimitBytes: number): void {
  app.put<{ Params: Params; Querystring: Record<string, string> }>(
    '/v1/functions/:name',
    { bodyLimit: deployLimitBytes },
    async (request, reply) => {
      const name = scopedName(principalOf(request, 'deploy'), request.params.name);
      const body = rawBody(request);
      const { dryRun, rest: query } = dryRunOf(request.query);
      const version = isJson(request)
        ? await functions.deployJson(name, body.length ? parseJson(body, 'the deploy request') : {}, dryRun)
        : await functions.deployArchive(name, body, archiveConfig(request.headers['x-nimbus-config'], query), dryRun);
      if ('dryRun' in version) return reply.code(200).send({ ...version, name: request.params.name });
      return reply.code(version.created ? 201 : 200).send(describeVersion(version));
    },
  );

  app.get('/v1/functions', async (request) => ({
    functions: (await functions.list(principalOf(request, 'read').namespace)).map(describeVersion),
  }));

  app.get<{ Params: Params }>('/v1/functions/:name', async (request) =>
    describeVersion(await functions.get(scopedName(principalOf(request, 'read'), request.params.name))),
  );

  app.delete<{ Params: Params; Querystring: { force?: string } }>('/v1/functions/:name', async (request) => {
    // ?force=1 also deletes the triggers that start the function (without it, they make the delete a 409).
    const force = request.query.force === '1' || request.query.force === 'true';
    await functions.delete(scopedName(principalOf(request, 'deploy'), request.params.name), force);
    return { deleted: request.params.name };
  });
}
