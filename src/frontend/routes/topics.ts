// POST /v1/topics/:topic/publish: a JSON event to every function subscribed to
// the topic in the caller's namespace (topic triggers), answered 202 once each
// subscriber's async activation is stored. Idempotency-Key makes a retry store
// nothing new and answer the same ids.
import type { FastifyInstance } from 'fastify';
import type { EventsService } from '../../events/events-service.ts';
import { TOPIC_NAME } from '../../events/trigger-spec.ts';
import { NimbusError } from '../../shared/errors.ts';
import { principalOf } from '../../tenancy/principal.ts';
import { eventOf } from '../request-body.ts';

export function topicRoutes(app: FastifyInstance, events: EventsService): void {
  app.post<{ Params: { topic: string } }>('/v1/topics/:topic/publish', async (request, reply) => {
    const p = principalOf(request, 'invoke');
    const { topic } = request.params;
    if (!TOPIC_NAME.test(topic))
      throw new NimbusError(
        'bad_request',
        `invalid topic "${topic.slice(0, 80)}": use 1-128 letters, digits, ".", "-" or "_", starting with a letter or digit`,
      );
    const key = request.headers['idempotency-key'];
    const published = await events.publish(
      p.namespace,
      topic,
      eventOf(request),
      typeof key === 'string' && key ? key.slice(0, 256) : undefined,
    );
    return reply.code(202).send(published);
  });
}
