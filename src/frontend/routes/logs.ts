// GET /v1/logs?function=name: the recent lines of a function's activations
// (JSON), or with follow=1 its lines as they are written, as Server-Sent
// Events (src/logs/). Scoped to the caller's namespace: another namespace's
// function is a 404, like one that does not exist.
import type { FastifyInstance } from 'fastify';
import type { Bus } from '../../bus/bus.ts';
import { LiveLogHub } from '../../logs/hub.ts';
import { recentLines } from '../../logs/recent.ts';
import { streamLogs } from '../../logs/sse.ts';
import { NimbusError } from '../../shared/errors.ts';
import type { Store } from '../../storage/store.ts';
import { principalOf } from '../../tenancy/principal.ts';
import { qualify } from '../../tenancy/names.ts';
import { recordsSince } from '../../tenancy/incarnation.ts';
import { checkFunctionName } from '../build/function-spec.ts';

/** Followers one front end serves at once. */
export const MAX_LOG_FOLLOWERS = 100;

type Query = { function?: string; follow?: string; limit?: string };

const FOLLOW = new Map([
  ['', true],
  ['1', true],
  ['true', true],
  ['0', false],
  ['false', false],
]);

export function logRoutes(app: FastifyInstance, store: Store, bus: Bus, maxFollowers = MAX_LOG_FOLLOWERS): LiveLogHub {
  const hub = new LiveLogHub(bus, maxFollowers);
  // Before the server waits for its connections to end: followers' streams never end by themselves.
  app.addHook('preClose', (done) => {
    hub.close();
    done();
  });

  app.get<{ Querystring: Query }>('/v1/logs', async (request, reply) => {
    const p = principalOf(request, 'read');
    const q = request.query;
    if (typeof q.function !== 'string' || !q.function)
      throw new NimbusError(
        'bad_request',
        'say whose logs: GET /v1/logs?function=<name> (add &follow=1 to stream them)',
      );
    const name = checkFunctionName(q.function);
    const follow = q.follow === undefined ? false : FOLLOW.get(String(q.follow));
    if (follow === undefined)
      throw new NimbusError('bad_request', `follow must be 1, true, 0 or false, not ${JSON.stringify(q.follow)}`);
    const limit = q.limit === undefined ? 100 : Number(q.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
      throw new NimbusError('bad_request', 'limit must be a whole number of lines from 1 to 1000');
    const qualified = qualify(p.namespace, name);
    if (!(await store.getFunction(qualified)))
      throw new NimbusError('not_found', `function ${name} does not exist; see GET /v1/functions`);
    if (!follow)
      return { lines: await recentLines(store, qualified, name, limit, await recordsSince(store.sql, p.namespace)) };
    await streamLogs(request, reply, hub, qualified, name, p.keyId !== null); // root is not held to a share
    return reply;
  });
  return hub;
}
