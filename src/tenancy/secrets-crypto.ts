// Sealing secrets at rest: AES-256-GCM (node:crypto) under the platform's
// master key, a random 96-bit IV per value, and the secret's namespace and
// name as additional authenticated data, so a sealed value copied into
// another row (another name, another namespace) fails to open instead of
// handing its plaintext to the wrong function. The master key is 32 bytes:
// NIMBUS_MASTER_KEY (hex or base64) wherever it is set, which cluster mode
// requires on every node; embedded, `master.key` in the data directory, made
// on first start (0600, and private-state.ts keeps it so).
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { link, readFile, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';

const ALGORITHM = 'aes-256-gcm';
const KEY_BYTES = 32;
const IV_BYTES = 12;
/** The full GCM tag: a shorter one given back is refused, not trusted. */
const TAG_BYTES = 16;
/** The sealed form's first field: which scheme made it (a later key rotation can add v2). */
const FORMAT = 'v1';

export const MASTER_KEY_FILE = 'master.key';
export const MASTER_KEY_ENV = 'NIMBUS_MASTER_KEY';

/** The master key from its text form: 64 hex digits or base64 of exactly 32 bytes. Never quotes the text. */
export function parseMasterKey(text: string): Buffer {
  const t = text.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(t)
    ? Buffer.from(t, 'hex')
    : /^[A-Za-z0-9+/_-]+={0,2}$/.test(t)
      ? Buffer.from(t, 'base64')
      : undefined;
  if (key?.length !== KEY_BYTES)
    throw new Error(
      `${MASTER_KEY_ENV} must be ${KEY_BYTES} bytes written as 64 hex digits or as base64 (make one with: openssl rand -base64 32); the value given is ${key ? `${key.length} bytes` : 'neither hex nor base64'}`,
    );
  return key;
}

/** The embedded platform's key file: read, or made once (atomically, so two starts agree on one key). */
export async function loadOrCreateMasterKey(dataDir: string): Promise<{ key: Buffer; created: boolean }> {
  const file = path.join(dataDir, MASTER_KEY_FILE);
  let created = false;
  const existing = await readFile(file).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return undefined;
    throw e;
  });
  if (!existing) {
    // Written under a temporary name and linked into place: a reader never sees a half-written key.
    const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
    await writeFile(tmp, randomBytes(KEY_BYTES), { mode: 0o600, flag: 'wx' });
    try {
      await link(tmp, file);
      created = true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    } finally {
      await unlink(tmp).catch(() => undefined);
    }
  }
  const key = existing ?? (await readFile(file));
  if (key.length !== KEY_BYTES)
    throw new Error(
      `${file} holds ${key.length} bytes, not the ${KEY_BYTES} of a master key; restore it from a backup (secrets sealed under it cannot be opened without it)`,
    );
  return { key, created };
}

/** What a sealed value is bound to: its namespace and name (neither can hold a NUL). */
export function secretAad(namespace: string, name: string): Buffer {
  return Buffer.from(`nimbus-secret\0${namespace}\0${name}`, 'utf8');
}

/** `v1.<iv>.<tag>.<ciphertext>`, each base64: text, so both stores keep it in a TEXT column alike. */
export function seal(key: Buffer, aad: Buffer, plaintext: string): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv(ALGORITHM, key, iv);
  cipher.setAAD(aad);
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return [FORMAT, iv.toString('base64'), cipher.getAuthTag().toString('base64'), body.toString('base64')].join('.');
}

/** The plaintext, or undefined when the value does not open under this key and AAD (wrong key, moved or altered row). */
export function unseal(key: Buffer, aad: Buffer, sealed: string): string | undefined {
  const [format, iv, tag, body, ...rest] = sealed.split('.');
  if (format !== FORMAT || iv === undefined || tag === undefined || body === undefined || rest.length) return undefined;
  try {
    const decipher = createDecipheriv(ALGORITHM, key, Buffer.from(iv, 'base64'), { authTagLength: TAG_BYTES });
    decipher.setAAD(aad);
    decipher.setAuthTag(Buffer.from(tag, 'base64'));
    return Buffer.concat([decipher.update(Buffer.from(body, 'base64')), decipher.final()]).toString('utf8');
  } catch {
    return undefined;
  }
}
