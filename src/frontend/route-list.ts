// The routes an origin serves, as registered: what the route-table test
// (test/tenancy/route-scope.test.ts) checks against its table, so that a new
// route cannot ship without saying how it is confined to a namespace. The
// 405/OPTIONS fillers (method-not-allowed.ts) are marked and left out.
import type { FastifyInstance } from 'fastify';

export interface RouteEntry {
  /** An HTTP method, or ANY for a route that takes every method. */
  method: string;
  url: string;
}

/** What a filler route carries in its config. */
export const FILLER = { filler: true } as const;

const lists = new WeakMap<FastifyInstance, RouteEntry[]>();

/** Call before any route is added. */
export function listRoutes(app: FastifyInstance): void {
  const list: RouteEntry[] = [];
  lists.set(app, list);
  app.addHook('onRoute', (route) => {
    if ((route.config as { filler?: boolean } | undefined)?.filler) return;
    const methods = [route.method].flat().filter((m) => m !== 'HEAD');
    if (methods.length > 5) list.push({ method: 'ANY', url: route.url });
    else for (const m of methods) list.push({ method: m, url: route.url });
  });
}

export function routesOf(app: FastifyInstance): RouteEntry[] {
  return [...(lists.get(app) ?? [])];
}
