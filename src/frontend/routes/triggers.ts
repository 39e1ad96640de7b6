// Routes for triggers (cron schedules and topic subscriptions), each confined
// to the caller's namespace: PUT /v1/triggers/:name creates or replaces one,
// GET lists or reads, DELETE removes. The logic is src/events/events-service.ts.
import type { FastifyInstance } from 'fastify';
import { describeTrigger, type EventsService } from '../../events/events-service.ts';
import { TriggerSpec } from '../../events/trigger-spec.ts';
import { principalOf } from '../../tenancy/principal.ts';
import { parseOrThrow } from '../build/function-spec.ts';
import { parseJson, rawBody } from '../request-body.ts';

type Params = { name: string };

export function triggerRoutes(app: FastifyInstance, events: EventsService): void {
  app.put<{ Params: Params }>('/v1/triggers/:name', async (request, reply) => {
    const p = principalOf(request, 'deploy');
    const body = rawBody(request);
    const spec = parseOrThrow(TriggerSpec, body.length ? parseJson(body, 'the trigger') : {}, 'trigger');
    const { created, trigger } = await events.put(p.namespace, request.params.name, spec);
    return reply.code(created ? 201 : 200).send(describeTrigger(trigger));
  });

  app.get('/v1/triggers', async (request) => {
    const p = principalOf(request, 'read');
    return { triggers: (await events.list(p.namespace)).map(describeTrigger) };
  });

  app.get<{ Params: Params }>('/v1/triggers/:name', async (request) => {
    const p = principalOf(request, 'read');
    const trigger = await events.get(p.namespace, request.params.name);
    return { ...describeTrigger(trigger), ...(await events.schedule(trigger)) };
  });

  app.delete<{ Params: Params }>('/v1/triggers/:name', async (request) => {
    const p = principalOf(request, 'deploy');
    await events.delete(p.namespace, request.params.name);
    return { deleted: request.params.name };
  });
}
