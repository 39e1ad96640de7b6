// Encrypted secrets: what the API stores (sealed under the master key, keyed
// by namespace and name), what the deploy checks (every secret a config names
// exists), and what the invoker reads at each sandbox start (the values, by
// the env names the config maps them to). A changed secret recycles the warm
// sandboxes of every function using it, so the next call sees the new value.
// A value leaves this module only toward a sandbox's environment (envFor) or a
// caller inside the platform that needs it (value); never in an answer or error.
import type { SqlDb } from '../storage/sql-db.ts';
import type { Store } from '../storage/store.ts';
import { NimbusError } from '../shared/errors.ts';
import { isoTime } from '../shared/iso-time.ts';
import { splitQualified } from './names.ts';
import { onNamespaceDeleted } from './namespaces.ts';
import {
  MASTER_KEY_ENV,
  MASTER_KEY_FILE,
  loadOrCreateMasterKey,
  parseMasterKey,
  seal,
  secretAad,
  unseal,
} from './secrets-crypto.ts';
import { checkSecretName, checkSecretValue } from './secrets-rules.ts';
import {
  deleteSecret,
  listSecrets,
  newestSecret,
  sealedSecrets,
  secretUsers,
  upsertSecret,
  type SecretRow,
} from './secrets-store.ts';

/** Most bytes the secrets of one function may add to its sandboxes' environment. */
const SECRETS_ENV_LIMIT_BYTES = 1024 * 1024;

// A deleted namespace takes its secrets along, in the same transaction.
onNamespaceDeleted((namespace) => [{ sql: 'DELETE FROM secrets WHERE namespace = ?', args: [namespace] }]);

export interface SecretsOptions {
  dataDir: string;
  /** Cluster mode: the key must come from NIMBUS_MASTER_KEY (the same on every node). */
  cluster: boolean;
  /** The key's text (hex or base64), when not from the environment (a platform started from code). */
  masterKey?: string;
  /** Tell every invoker to start this function's sandboxes again (its secrets changed). */
  recycle(qualifiedName: string): Promise<void>;
  log(level: 'info' | 'error', msg: string): void;
}

export class Secrets {
  private constructor(
    private readonly store: Store,
    private readonly key: Buffer,
    private readonly options: SecretsOptions,
  ) {}

  /** Finds the master key (or fails the start saying how to give one) and checks it opens the stored secrets. */
  static async open(store: Store, options: SecretsOptions): Promise<Secrets> {
    const given = options.masterKey ?? process.env[MASTER_KEY_ENV];
    let key: Buffer;
    if (given) key = parseMasterKey(given);
    else if (options.cluster)
      throw new Error(
        `cluster mode needs ${MASTER_KEY_ENV}: the same 32-byte key, as 64 hex digits or base64 (make one with: openssl rand -base64 32), in the environment of every front end and invoker; secrets are sealed and opened with it`,
      );
    else {
      const made = await loadOrCreateMasterKey(options.dataDir);
      if (made.created) options.log('info', `made a master key for secrets in ${options.dataDir}/${MASTER_KEY_FILE}`);
      key = made.key;
    }
    const secrets = new Secrets(store, key, options);
    await secrets.checkKey();
    return secrets;
  }

  /** A key that does not open the newest stored secret is the wrong one: refused in a cluster, reported embedded. */
  private async checkKey(): Promise<void> {
    const newest = await newestSecret(this.store.sql);
    if (!newest || unseal(this.key, secretAad(newest.namespace, newest.name), newest.sealed) !== undefined) return;
    const where = this.options.cluster ? MASTER_KEY_ENV : `${MASTER_KEY_ENV} or ${MASTER_KEY_FILE}`;
    const msg = `the master key (${where}) does not open the secrets in this store (secret "${newest.name}" of namespace "${newest.namespace}"): give every node the key they were sealed with`;
    if (this.options.cluster) throw new Error(msg);
    this.options.log(
      'error',
      `${msg}; until then functions that use secrets fail to start, and PUT /v1/secrets/:name seals them anew`,
    );
  }

  async put(namespace: string, name: string, value: unknown): Promise<{ created: boolean; row: SecretRow }> {
    checkSecretName(name);
    const plain = checkSecretValue(name, value);
    const sealed = seal(this.key, secretAad(namespace, name), plain);
    const result = await upsertSecret(this.store.sql, namespace, name, sealed, isoTime());
    await this.recycleUsers(namespace, name);
    return result;
  }

  list(namespace: string): Promise<SecretRow[]> {
    return listSecrets(this.store.sql, namespace);
  }

  /** Refused (409) while a function version uses the secret: its next sandbox could not start. */
  async delete(namespace: string, name: string): Promise<void> {
    checkSecretName(name);
    const users = await secretUsers(this.store.sql, namespace, name);
    if (users.size > 0) {
      const named = [...users].map(([fn, v]) => `${splitQualified(fn).name} (version ${v.join(', ')})`).join('; ');
      throw new NimbusError(
        'conflict',
        `secret "${name}" is used by ${named}; redeploy without it (and delete versions that still name it), then delete the secret`,
        { functions: [...users.keys()].map((fn) => splitQualified(fn).name) },
      );
    }
    if (!(await deleteSecret(this.store.sql, namespace, name)))
      throw new NimbusError('not_found', `secret "${name}" does not exist; see GET /v1/secrets`);
  }

  /** The environment the mapping gives a sandbox of the function: env name → the secret's value, read now. */
  async envFor(qualifiedName: string, mapping: Record<string, string>): Promise<Record<string, string>> {
    const { namespace, name: fn } = splitQualified(qualifiedName);
    const sealed = await sealedSecrets(this.store.sql, namespace, [...new Set(Object.values(mapping))]);
    const env: Record<string, string> = {};
    let bytes = 0;
    for (const [envName, secret] of Object.entries(mapping)) {
      env[envName] = this.open(namespace, secret, sealed, fn);
      bytes += Buffer.byteLength(env[envName]) + envName.length + 2;
    }
    // A process's environment shares exec's argument space (about 2 MB on Linux): more would fail the start obscurely.
    if (bytes > SECRETS_ENV_LIMIT_BYTES)
      throw new NimbusError(
        'conflict',
        `the secrets function "${fn}" maps hold ${bytes} bytes together, over the ${SECRETS_ENV_LIMIT_BYTES} a sandbox's environment takes; map fewer or smaller secrets`,
      );
    return env;
  }

  /** One secret's value, for a platform part that needs it (a webhook signature); undefined when it does not exist. */
  async value(namespace: string, name: string): Promise<string | undefined> {
    const sealed = await sealedSecrets(this.store.sql, namespace, [name]);
    return sealed.has(name) ? this.open(namespace, name, sealed) : undefined;
  }

  private open(namespace: string, secret: string, sealed: Map<string, string>, fn?: string): string {
    const row = sealed.get(secret);
    const user = fn ? `function "${fn}" uses secret "${secret}", which` : `secret "${secret}"`;
    if (row === undefined)
      throw new NimbusError(
        'conflict',
        `${user} does not exist in namespace "${namespace}"; create it with PUT /v1/secrets/${secret} or redeploy without it`,
      );
    const plain = unseal(this.key, secretAad(namespace, secret), row);
    if (plain === undefined)
      throw new NimbusError(
        'unavailable',
        `${user} cannot be opened with this node's master key (${MASTER_KEY_ENV} must be the same on every front end and invoker)`,
      );
    return plain;
  }

  private async recycleUsers(namespace: string, name: string): Promise<void> {
    for (const fn of (await secretUsers(this.store.sql, namespace, name)).keys()) await this.options.recycle(fn);
  }
}

/** 400 naming every secret a config maps that does not exist in the function's namespace (checked at deploy; needs no key). */
export async function requireSecrets(
  sql: SqlDb,
  qualifiedName: string,
  mapping: Record<string, string> | undefined,
): Promise<void> {
  const names = [...new Set(Object.values(mapping ?? {}))];
  if (names.length === 0) return;
  const { namespace } = splitQualified(qualifiedName);
  const found = await sealedSecrets(sql, namespace, names);
  const missing = names.filter((n) => !found.has(n));
  if (missing.length)
    throw new NimbusError(
      'bad_request',
      `secrets: ${missing.map((n) => `"${n}"`).join(', ')} ${missing.length > 1 ? 'do' : 'does'} not exist in namespace "${namespace}"; create ${missing.length > 1 ? 'them' : 'it'} first with PUT /v1/secrets/${missing[0]} {"value": …}`,
    );
}
