// The web dashboard on the management API's origin: GET / and the pages of the
// single-page app answer index.html, /assets/:file the built bundle (built by
// src/dashboard/build.ts when missing or stale). Open without a key (routes
// marked OPEN, see auth.ts): the files hold no data, and the page must load to
// ask for a key; every figure it shows comes from the API with that key. A
// strict Content-Security-Policy allows only this origin's scripts and styles.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { ensureDashboard, OUT_DIR } from '../../dashboard/build.ts';
import { NimbusError } from '../../shared/errors.ts';
import { sendError } from '../http-errors.ts';

/** The single-page app's routes (src/dashboard/main.tsx routes the same paths). */
export const DASHBOARD_PAGES = [
  '/',
  '/functions',
  '/functions/:name',
  '/activations',
  '/activations/:id',
  '/sandboxes',
  '/engines',
  '/charts',
  '/cost',
];

/** Route config that lets a request through without a key (auth.ts). */
export const OPEN = { open: true } as const;

export const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
};

export function dashboardRoutes(app: FastifyInstance, outDir = OUT_DIR): void {
  // Built now if missing or stale, so the first page load does not wait; a failure is told on that load.
  ensureDashboard(outDir).catch(() => undefined);
  const send = async (reply: FastifyReply, file: string, type: string) => {
    try {
      await ensureDashboard(outDir);
      const body = await readFile(path.join(outDir, file));
      return reply
        .type(type)
        .header('content-security-policy', CSP)
        .header('referrer-policy', 'no-referrer')
        .header('x-frame-options', 'DENY')
        .header('cache-control', 'no-cache')
        .send(body);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return notFound(reply, file);
      return sendError(
        reply,
        new NimbusError('unavailable', `the dashboard could not be built: ${(e as Error).message}`),
      );
    }
  };
  for (const url of DASHBOARD_PAGES)
    app.get(url, { config: OPEN }, (_request, reply) => send(reply, 'index.html', 'text/html; charset=utf-8'));
  app.get<{ Params: { file: string } }>('/assets/:file', { config: OPEN }, (request, reply) => {
    const file = request.params.file;
    const type = TYPES[path.extname(file)];
    // One plain file name of a known type: no path separators, no dot files, nothing outside assets/.
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,100}$/.test(file) || type === undefined) return notFound(reply, file);
    return send(reply, path.join('assets', file), type);
  });
}

function notFound(reply: FastifyReply, file: string) {
  return sendError(
    reply,
    new NimbusError('not_found', `no dashboard asset ${JSON.stringify(file.slice(0, 100))}; the dashboard is at /`),
  );
}
