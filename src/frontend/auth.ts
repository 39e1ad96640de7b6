// Who a request is: the one hook that sets `request.principal` (tenancy/principal.ts).
// - `Authorization: Bearer <root key>`: root, in the namespace `x-nimbus-namespace`
//   names (default otherwise). The root key is generated on first start into the
//   data directory whenever a key is required (beyond loopback, --api-key, --require-key).
// - `Authorization: Bearer <namespace key>` (tenancy/keys.ts): its role, in its own
//   namespace only; an `x-nimbus-namespace` naming another is a 403. Checked on
//   every request, also on loopback without a root key; a cluster front end keeps
//   live keys cached, dropped on every front end before a revoke answers.
// - No key: root of a developer machine on loopback when no key is required
//   (the Host check in host-check.ts guards that case), 401 otherwise.
// /healthz and the dashboard's HTML and assets stay open and have no principal.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { NimbusError } from '../shared/errors.ts';
import type { SqlDb } from '../storage/sql-db.ts';
import { principalOfKey, type KeyCache } from '../tenancy/keys.ts';
import { DEFAULT_NAMESPACE, checkNamespaceName } from '../tenancy/names.ts';
import { namespaceExists, namespaceNotFound } from '../tenancy/namespaces.ts';
import type { Principal } from '../tenancy/principal.ts';
import { sendError, toNimbusError } from './http-errors.ts';

export async function loadOrCreateApiKey(dataDir: string): Promise<{ key: string; created: boolean }> {
  const file = path.join(dataDir, 'api-key');
  try {
    return { key: (await readFile(file, 'utf8')).trim(), created: false };
  } catch {
    await mkdir(dataDir, { recursive: true });
    const key = `nmb_${randomBytes(24).toString('base64url')}`;
    await writeFile(file, `${key}\n`, { mode: 0o600, flag: 'wx' }).catch(async () => undefined);
    return { key: (await readFile(file, 'utf8')).trim(), created: true };
  }
}

export interface AuthOptions {
  /** The root key; when set, a request without a key is refused. */
  rootKey?: string;
  sql: SqlDb;
  /** Live keys kept between requests (cluster front ends; key-cache.ts). */
  keys?: KeyCache;
  onError: (e: unknown) => void;
}

const MISSING =
  'missing API key: send "Authorization: Bearer <key>" (a namespace key from POST /v1/keys, or the root key in the data directory\'s api-key file)';
const WRONG = 'unknown or revoked API key: ask an admin of your namespace for a new one (POST /v1/keys)';

export function authenticate(app: FastifyInstance, o: AuthOptions): void {
  const root = o.rootKey === undefined ? undefined : Buffer.from(o.rootKey);
  app.addHook('onRequest', async (request, reply) => {
    // /healthz and the dashboard's own files (routes marked open, routes/dashboard.ts) carry no data.
    if (request.url === '/healthz' || (request.routeOptions.config as { open?: boolean } | undefined)?.open) return;
    try {
      request.principal = await principalFor(request, root, o);
    } catch (e) {
      return sendError(reply, toNimbusError(e));
    }
  });
}

async function principalFor(request: FastifyRequest, root: Buffer | undefined, o: AuthOptions): Promise<Principal> {
  const header = request.headers.authorization;
  const asked = request.headers['x-nimbus-namespace'];
  const named = typeof asked === 'string' && asked ? checkNamespaceName(asked) : undefined;
  if (header === undefined || header === '') {
    if (root) throw new NimbusError('unauthorized', MISSING);
    return rootIn(named, o.sql);
  }
  const m = /^Bearer\s+(\S{1,512})\s*$/i.exec(header);
  if (!m?.[1]) throw new NimbusError('unauthorized', `malformed Authorization header: ${MISSING}`);
  const given = Buffer.from(m[1]);
  if (root && given.length === root.length && timingSafeEqual(given, root)) return rootIn(named, o.sql);
  const p = await principalOfKey(o.sql, m[1], o.onError, o.keys);
  if (!p) throw new NimbusError('unauthorized', WRONG);
  if (named !== undefined && named !== p.namespace)
    throw new NimbusError(
      'forbidden',
      `this key acts in namespace "${p.namespace}" only; drop x-nimbus-namespace or send "${p.namespace}"`,
    );
  return p;
}

/** Root acts in any namespace that exists. */
async function rootIn(named: string | undefined, sql: SqlDb): Promise<Principal> {
  const namespace = named ?? DEFAULT_NAMESPACE;
  if (!(await namespaceExists(sql, namespace))) throw namespaceNotFound(namespace);
  return { namespace, role: 'root', keyId: null };
}
