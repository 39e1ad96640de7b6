// Routes for function serving: POST /v1/functions/:name/invoke (sync, or async
// with ?async=1 / Prefer: respond-async) and ANY /fn/:name/* (HTTP routes).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { RunReply } from '../../engine/messages.ts';
import { NimbusError } from '../../shared/errors.ts';
import { sendError } from '../http-errors.ts';
import type { InvocationsService } from '../invocations-service.ts';
import { eventOf, httpInputOf } from '../request-body.ts';
import { checkFunctionName } from '../build/function-spec.ts';

type Params = { name: string };

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'upgrade', 'trailer']);

function sendRun(reply: FastifyReply, run: RunReply): FastifyReply {
  const a = run.activation;
  const headers = { 'x-nimbus-activation-id': a.id, 'x-nimbus-cold-start': String(a.cold === true), 'x-nimbus-function-version': String(a.functionVersion) };
  if (a.error) return sendError(reply, new NimbusError(a.error.code as NimbusError['code'], a.error.message, { activationId: a.id }), headers);
  reply.headers(headers);
  const out = run.output;
  if (out?.kind === 'http') {
    for (const [k, v] of Object.entries(out.response.headers)) if (!HOP_BY_HOP.has(k.toLowerCase())) reply.header(k, v);
    return reply.code(out.response.status).send(Buffer.from(out.response.bodyBase64, 'base64'));
  }
  return reply.code(200).type('application/json').send(JSON.stringify(out?.kind === 'value' ? out.value ?? null : null));
}

const ASYNC_VALUES = new Map([['', true], ['1', true], ['true', true], ['0', false], ['false', false]]);

/**
 * `?async` (alone, 1 or true) or `Prefer: respond-async`; `?async=0|false` is sync even with that
 * header (the query is the more specific ask); any other value is an error, not a guess.
 */
function wantsAsync(query: Record<string, string | string[]>, prefer: string | string[] | undefined): boolean {
  const q = query.async;
  const asked = typeof q === 'string' ? ASYNC_VALUES.get(q) : undefined;
  if (q !== undefined && asked === undefined) {
    throw new NimbusError('bad_request', `async must be 1, true, 0 or false, not ${JSON.stringify(q)}; use ?async=1 to get 202 and an activation id`);
  }
  return asked ?? String(prefer ?? '').includes('respond-async');
}

export function invokeRoutes(app: FastifyInstance, invocations: InvocationsService): void {
  app.post<{ Params: Params; Querystring: Record<string, string | string[]> }>('/v1/functions/:name/invoke', async (request, reply) => {
    const name = checkFunctionName(request.params.name);
    const input = { kind: 'event' as const, event: eventOf(request) };
    if (wantsAsync(request.query, request.headers.prefer)) {
      const key = request.headers['idempotency-key'];
      const accepted = await invocations.async(name, input, typeof key === 'string' && key ? key.slice(0, 256) : undefined);
      return reply.code(202).header('x-nimbus-activation-id', accepted.activationId).send({ activationId: accepted.activationId, duplicate: accepted.duplicate });
    }
    return sendRun(reply, await invocations.sync(name, input, 'sync'));
  });

  const route = async (request: FastifyRequest<{ Params: Params }>, reply: FastifyReply) => {
    const name = checkFunctionName(request.params.name);
    return sendRun(reply, await invocations.sync(name, { kind: 'http', request: httpInputOf(request, `/fn/${name}`) }, 'http'));
  };
  app.all<{ Params: Params }>('/fn/:name', route);
  app.all<{ Params: Params }>('/fn/:name/*', route);
}
