// Routes for function programming: deploy, list, get, delete.
import type { FastifyInstance } from 'fastify';
import { describeVersion, type FunctionsService } from '../functions-service.ts';
import { isJson, parseJson, rawBody } from '../request-body.ts';
import { NimbusError } from '../../shared/errors.ts';

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

export function functionRoutes(app: FastifyInstance, functions: FunctionsService, deployLimitBytes: number): void {
  app.put<{ Params: Params; Querystring: Record<string, string> }>(
    '/v1/functions/:name',
    { bodyLimit: deployLimitBytes },
    async (request, reply) => {
      const { name } = request.params;
      const body = rawBody(request);
      const version = isJson(request)
        ? await functions.deployJson(name, body.length ? parseJson(body, 'the deploy request') : {})
        : await functions.deployArchive(name, body, archiveConfig(request.headers['x-nimbus-config'], request.query));
      return reply.code(version.created ? 201 : 200).send(describeVersion(version));
    },
  );

  app.get('/v1/functions', async () => ({ functions: (await functions.list()).map(describeVersion) }));

  app.get<{ Params: Params }>('/v1/functions/:name', async (request) =>
    describeVersion(await functions.get(request.params.name)),
  );

  app.delete<{ Params: Params }>('/v1/functions/:name', async (request) => {
    await functions.delete(request.params.name);
    return { deleted: request.params.name };
  });
}
