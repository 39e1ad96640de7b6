// Namespaces and API keys on an embedded platform on loopback without a root
// key (root of a developer machine): namespaces made and deleted, keys made
// with roles, what each role may do, revocation at once, key material never
// stored or listed, and bad input with its status and nothing written.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.ts';

const HELLO = 'export const handler = async (e) => ({ hi: e.name ?? "you" });';
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

describe('namespaces and keys', () => {
  let t: TestPlatform;
  const keys: Record<string, { id: string; key: string }> = {};
  const makeKey = async (namespace: string, role: string, headers?: Record<string, string>) => {
    const r = await t.request('POST', '/v1/keys', { namespace, role }, headers);
    assert.equal(r.status, 201, r.text);
    return r.json as { id: string; key: string; namespace: string; role: string };
  };

  before(async () => {
    t = await startTestPlatform();
    for (const ns of ['team-a', 'team-b']) {
      const r = await t.request('POST', '/v1/namespaces', { name: ns, quotas: { maxFunctions: 10 } });
      assert.equal(r.status, 201, r.text);
    }
    for (const role of ['admin', 'developer', 'invoker', 'reader']) keys[role] = await makeKey('team-a', role);
  });
  after(() => t.close());

  it('lists and reads namespaces, default included', async () => {
    const r = await t.request('GET', '/v1/namespaces');
    assert.deepEqual(
      r.json.namespaces.map((n: { name: string }) => n.name),
      ['default', 'team-a', 'team-b'],
    );
    const a = await t.request('GET', '/v1/namespaces/team-a');
    assert.deepEqual(a.json.quotas, { maxFunctions: 10 });
    const own = await t.request('GET', '/v1/namespaces/team-a', undefined, bearer(keys.reader!.key));
    assert.equal(own.status, 200);
    const other = await t.request('GET', '/v1/namespaces/team-b', undefined, bearer(keys.reader!.key));
    assert.equal(other.status, 404);
    assert.equal((await t.request('POST', '/v1/namespaces', { name: 'team-a' })).status, 409);
  });

  it('refuses bad namespace and key requests with 400 and writes nothing', async () => {
    for (const body of [{ name: 'Team!' }, { name: 'x', quotas: { maxFunctions: -1 } }, { name: 'x', extra: 1 }])
      assert.equal((await t.request('POST', '/v1/namespaces', body)).status, 400, JSON.stringify(body));
    assert.equal((await t.request('GET', '/v1/namespaces/x')).status, 404);
    const unknownRole = await t.request('POST', '/v1/keys', { namespace: 'team-a', role: 'owner' });
    assert.equal(unknownRole.status, 400);
    assert.match(unknownRole.json.error.message, /role/);
    const unknownNs = await t.request('POST', '/v1/keys', { namespace: 'nope', role: 'reader' });
    assert.equal(unknownNs.status, 400);
    assert.match(unknownNs.json.error.message, /namespace "nope" does not exist/);
    const listed = await t.request('GET', '/v1/keys');
    assert.equal(listed.json.keys.length, 4);
  });

  it('gives each role what it may do, in its own namespace only', async () => {
    const dev = bearer(keys.developer!.key);
    const deployed = await t.request('PUT', '/v1/functions/hello', { runtime: 'nodejs', code: HELLO }, dev);
    assert.equal(deployed.status, 201, deployed.text);
    assert.equal(deployed.json.name, 'hello');
    assert.equal(deployed.json.namespace, 'team-a');
    // The invoker invokes but cannot deploy or read; the reader reads but cannot invoke.
    const inv = bearer(keys.invoker!.key);
    const called = await t.request('POST', '/v1/functions/hello/invoke', { name: 'a' }, inv);
    assert.deepEqual(called.json, { hi: 'a' });
    const denied = await t.request('PUT', '/v1/functions/hello', { runtime: 'nodejs', code: HELLO }, inv);
    assert.equal(denied.status, 403);
    assert.equal(denied.json.error.code, 'forbidden');
    assert.equal((await t.request('GET', '/v1/functions', undefined, inv)).status, 403);
    const reader = bearer(keys.reader!.key);
    assert.equal((await t.request('POST', '/v1/functions/hello/invoke', {}, reader)).status, 403);
    const record = await t.request(
      'GET',
      `/v1/activations/${called.headers.get('x-nimbus-activation-id')}`,
      undefined,
      reader,
    );
    assert.equal(record.json.functionName, 'hello');
    assert.equal(record.json.namespace, 'team-a');
    const queued = await t.request('POST', '/v1/functions/hello/invoke?async=1', { name: 'later' }, inv);
    assert.equal(queued.status, 202, queued.text);
    // Root in default does not see it (t.settled would wait forever); the namespace's reader does.
    const path = `/v1/activations/${queued.json.activationId}`;
    assert.equal((await t.request('GET', path)).status, 404);
    let done = (await t.request('GET', path, undefined, reader)).json;
    for (let i = 0; i < 300 && ['queued', 'running'].includes(done.status); i++) {
      await new Promise((r) => setTimeout(r, 100));
      done = (await t.request('GET', path, undefined, reader)).json;
    }
    assert.deepEqual([done.functionName, done.namespace, done.status], ['hello', 'team-a', 'success']);
    // Root without a header is in default, where no "hello" exists; with the header it sees team-a's.
    assert.equal((await t.request('GET', '/v1/functions/hello')).status, 404);
    const asRoot = await t.request('GET', '/v1/functions/hello', undefined, { 'x-nimbus-namespace': 'team-a' });
    assert.equal(asRoot.status, 200);
    // A key naming another namespace in the header is refused; naming its own is fine.
    const across = await t.request('GET', '/v1/functions', undefined, { ...reader, 'x-nimbus-namespace': 'team-b' });
    assert.equal(across.status, 403);
    const same = await t.request('GET', '/v1/functions', undefined, { ...reader, 'x-nimbus-namespace': 'team-a' });
    assert.equal(same.status, 200);
    // Keys are for admins; namespaces and metrics for root.
    assert.equal((await t.request('GET', '/v1/keys', undefined, dev)).status, 403);
    assert.equal((await t.request('GET', '/v1/namespaces', undefined, bearer(keys.admin!.key))).status, 403);
    assert.equal((await t.request('GET', '/metrics', undefined, bearer(keys.admin!.key))).status, 403);
    assert.equal((await t.request('GET', '/metrics')).status, 200);
  });

  it('lets an admin manage the keys of its own namespace only', async () => {
    const admin = bearer(keys.admin!.key);
    const made = await makeKey('team-a', 'reader', admin);
    assert.equal((await t.request('POST', '/v1/keys', { role: 'reader' }, admin)).status, 201);
    const other = await t.request('POST', '/v1/keys', { namespace: 'team-b', role: 'admin' }, admin);
    assert.equal(other.status, 403);
    const bKey = await makeKey('team-b', 'reader');
    assert.equal((await t.request('DELETE', `/v1/keys/${bKey.id}`, undefined, admin)).status, 404);
    const listed = await t.request('GET', '/v1/keys', undefined, admin);
    assert.ok(listed.json.keys.every((k: { namespace: string }) => k.namespace === 'team-a'));
    assert.ok(listed.json.keys.some((k: { id: string }) => k.id === made.id));
    assert.ok(!listed.text.includes(made.key), 'a list never shows a key');
    assert.equal((await t.request('DELETE', `/v1/keys/${made.id}`, undefined, admin)).status, 200);
  });

  it('refuses a revoked key at once, and an unknown one, with 401', async () => {
    const k = await makeKey('team-a', 'reader');
    assert.equal((await t.request('GET', '/v1/functions', undefined, bearer(k.key))).status, 200);
    assert.equal((await t.request('DELETE', `/v1/keys/${k.id}`)).status, 200);
    const after = await t.request('GET', '/v1/functions', undefined, bearer(k.key));
    assert.equal(after.status, 401);
    assert.equal(after.json.error.code, 'unauthorized');
    assert.equal((await t.request('GET', '/v1/functions', undefined, bearer('nmbk_made-up'))).status, 401);
    const listed = await t.request('GET', '/v1/keys?namespace=team-a');
    const row = listed.json.keys.find((x: { id: string }) => x.id === k.id);
    assert.ok(row.revokedAt, 'the list says when it was revoked');
    assert.ok(row.lastUsedAt, 'and when it was last used');
  });

  it('stores only a hash of each key', async () => {
    const k = await makeKey('team-b', 'admin');
    const files = (await readdir(t.dataDir)).filter((f) => f.startsWith('nimbus.db'));
    const db = Buffer.concat(await Promise.all(files.map((f) => readFile(path.join(t.dataDir, f)))));
    assert.ok(db.includes(Buffer.from(createHash('sha256').update(k.key).digest('hex'))), 'its hash is');
    assert.ok(!db.includes(Buffer.from(k.key)), 'the key itself is not in the database');
    assert.ok(!db.includes(Buffer.from(k.key.slice(12))), 'nor its secret part');
  });

  it('deletes a namespace only when empty or forced, never default', async () => {
    assert.equal((await t.request('DELETE', '/v1/namespaces/default')).status, 400);
    const before = await t.request('GET', '/v1/activations', undefined, { 'x-nimbus-namespace': 'team-a' });
    assert.ok(before.json.activations.length >= 2, 'the calls above left records');
    const busy = await t.request('DELETE', '/v1/namespaces/team-a');
    assert.equal(busy.status, 409);
    assert.match(busy.json.error.message, /hello/);
    assert.equal((await t.request('GET', '/v1/functions/hello', undefined, bearer(keys.reader!.key))).status, 200);
    // What else is keyed by the namespace goes with it: a trigger on its function, a secret.
    const inA = { 'x-nimbus-namespace': 'team-a' };
    const trigger = { type: 'topic', topic: 'orders', function: 'hello' };
    assert.equal((await t.request('PUT', '/v1/triggers/on-order', trigger, inA)).status, 201);
    assert.equal((await t.request('PUT', '/v1/secrets/db-pass', { value: 'hunter2' }, inA)).status, 201);
    const forced = await t.request('DELETE', '/v1/namespaces/team-a?force=1');
    assert.equal(forced.status, 200, forced.text);
    assert.deepEqual(forced.json.functions, ['hello']);
    assert.equal((await t.request('POST', '/v1/namespaces', { name: 'team-a' })).status, 201);
    // A namespace made again under the old name starts empty: no triggers, secrets or records of the old one.
    assert.deepEqual((await t.request('GET', '/v1/activations', undefined, inA)).json.activations, []);
    assert.deepEqual((await t.request('GET', '/v1/triggers', undefined, inA)).json.triggers, []);
    assert.deepEqual((await t.request('GET', '/v1/secrets', undefined, inA)).json.secrets, []);
    assert.equal((await t.request('DELETE', '/v1/namespaces/team-a')).status, 200);
    // Its keys went with it; root naming it is told it does not exist.
    assert.equal((await t.request('GET', '/v1/functions', undefined, bearer(keys.reader!.key))).status, 401);
    const gone = await t.request('GET', '/v1/functions', undefined, inA);
    assert.equal(gone.status, 404);
    assert.equal((await t.platform.store.listFunctions()).filter((f) => f.name.startsWith('team-a/')).length, 0);
    assert.equal((await t.request('DELETE', '/v1/namespaces/team-b')).status, 200);
  });
});

describe('--require-key on loopback', () => {
  let t: TestPlatform;
  before(async () => {
    t = await startTestPlatform({ requireKey: true });
  });
  after(() => t.close());

  it('refuses a request without a key and takes the root key and namespace keys', async () => {
    assert.equal((await t.request('GET', '/v1/functions')).status, 401);
    const root = bearer(t.platform.apiKey?.key ?? '');
    assert.equal((await t.request('GET', '/v1/functions', undefined, root)).status, 200);
    assert.equal((await t.request('POST', '/v1/namespaces', { name: 'ops' }, root)).status, 201);
    const k = await t.request('POST', '/v1/keys', { namespace: 'ops', role: 'reader' }, root);
    assert.equal((await t.request('GET', '/v1/functions', undefined, bearer(k.json.key))).status, 200);
    assert.equal((await t.request('GET', '/healthz')).status, 200);
  });
});
