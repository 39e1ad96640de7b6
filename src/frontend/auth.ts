// API-key authentication: required whenever nimbus listens beyond loopback (or
// a key was given). The key is generated on first start into the data
// directory; requests need `Authorization: Bearer <key>`. /healthz stays open.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { NimbusError } from '../shared/errors.ts';
import { sendError } from './http-errors.ts';

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

export function requireApiKey(app: FastifyInstance, key: string): void {
  const expected = Buffer.from(`Bearer ${key}`);
  app.addHook('onRequest', async (request, reply) => {
    if (request.url === '/healthz') return;
    const given = Buffer.from(String(request.headers.authorization ?? ''));
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return sendError(
        reply,
        new NimbusError(
          'unauthorized',
          'missing or wrong API key: send "Authorization: Bearer <key>" (the key is in the data directory\'s api-key file)',
        ),
      );
    }
  });
}
