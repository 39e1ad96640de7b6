// Encrypted secrets of the caller's namespace: PUT /v1/secrets/:name {value}
// creates (201) or replaces (200) one, GET /v1/secrets lists names and dates,
// DELETE removes one that no function uses. No answer ever carries a value.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { principalOf } from '../../tenancy/principal.ts';
import type { Secrets } from '../../tenancy/secrets.ts';
import { checkSecretName, checkSecretValue } from '../../tenancy/secrets-rules.ts';
import { parseOrThrow } from '../build/function-spec.ts';
import { NimbusError } from '../../shared/errors.ts';
import { rawBody } from '../request-body.ts';

type Params = { name: string };

// The value is checked by checkSecretValue (its size is a 413, not a 400); zod only shapes the body.
const PutBody = z.object({ value: z.unknown().optional() }).strict();

/** The body as JSON. Not parseJson: V8's syntax errors quote the text around the fault, which here is the value. */
function secretBody(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new NimbusError(
      'bad_request',
      'the secret is not valid JSON; send {"value": "<text>"} with content-type application/json',
    );
  }
}

export function secretRoutes(app: FastifyInstance, secrets: Secrets): void {
  app.put<{ Params: Params }>('/v1/secrets/:name', async (request, reply) => {
    const p = principalOf(request, 'deploy');
    const name = checkSecretName(request.params.name);
    const body = rawBody(request);
    const { value } = parseOrThrow(PutBody, body.length ? secretBody(body) : {}, 'secret');
    const { created, row } = await secrets.put(p.namespace, name, checkSecretValue(name, value));
    return reply.code(created ? 201 : 200).send(row);
  });

  app.get('/v1/secrets', async (request) => {
    const p = principalOf(request, 'read');
    return { secrets: await secrets.list(p.namespace) };
  });

  app.delete<{ Params: Params }>('/v1/secrets/:name', async (request) => {
    const p = principalOf(request, 'deploy');
    await secrets.delete(p.namespace, checkSecretName(request.params.name));
    return { deleted: request.params.name };
  });
}
