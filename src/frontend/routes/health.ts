// GET /healthz, on both origins: ok when the store answers, 503 otherwise.
import type { FastifyInstance } from 'fastify';
import type { Invoker } from '../../engine/invoker.ts';
import { NimbusError } from '../../shared/errors.ts';
import type { Store } from '../../storage/store.ts';
import { sendError } from '../http-errors.ts';

export function healthRoute(app: FastifyInstance, deps: { store: Store; invoker?: Invoker }): void {
  app.get('/healthz', async (_request, reply) => {
    try {
      await deps.store.ping();
      return { status: 'ok', invoker: deps.invoker?.id ?? null };
    } catch (e) {
      return sendError(reply, new NimbusError('unavailable', `store unreachable: ${(e as Error).message}`));
    }
  });
}
