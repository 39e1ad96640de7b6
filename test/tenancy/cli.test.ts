// The CLI's tenancy verbs against a running platform: namespace create/list/
// delete, key create/list/revoke, NIMBUS_NAMESPACE for root and NIMBUS_API_KEY
// for a namespace key; and `nimbus serve --require-key` refusing keyless calls on loopback.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ROOT, runCli, serve } from '../helpers/cli.ts';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.ts';
import { createTempDir } from '../helpers/temp.ts';

describe('nimbus namespace and nimbus key', () => {
  let t: TestPlatform;
  let env: Record<string, string>;
  before(async () => {
    t = await startTestPlatform();
    env = { NIMBUS_URL: t.url, NIMBUS_API_KEY: '', NIMBUS_NAMESPACE: '' };
  });
  after(() => t.close());

  it('makes a namespace and a key, deploys with the key, and revokes it', async () => {
    const made = await runCli(['namespace', 'create', 'web', '--quotas', '{"maxFunctions": 5}'], env);
    assert.equal(made.code, 0, made.stderr);
    assert.match((await runCli(['namespace', 'list'], env)).stdout, /^default\nweb$/m);
    const key = await runCli(['key', 'create', '--namespace', 'web', '--role', 'developer'], env);
    assert.equal(key.code, 0, key.stderr);
    const secret = key.stdout.split('\n')[0]!;
    assert.match(secret, /^nmbk_/);
    const asKey = { ...env, NIMBUS_API_KEY: secret };
    const deployed = await runCli(['deploy', path.join(ROOT, 'examples/hello.js'), '--name', 'hi'], asKey);
    assert.equal(deployed.code, 0, deployed.stderr);
    assert.match((await runCli(['list'], { ...env, NIMBUS_NAMESPACE: 'web' })).stdout, /hi/);
    assert.doesNotMatch((await runCli(['list'], env)).stdout, /"hi"/);
    const listed = await runCli(['key', 'list'], env);
    assert.ok(!listed.stdout.includes(secret), 'no key material in the list');
    const id = /^(key_[0-9a-f]+)\tweb\tdeveloper/m.exec(listed.stdout)?.[1];
    assert.ok(id, listed.stdout);
    assert.equal((await runCli(['key', 'revoke', id], env)).code, 0);
    const refused = await runCli(['list'], asKey);
    assert.equal(refused.code, 4, 'a 401 exits 4');
    assert.match(refused.stderr, /unauthorized/);
    const busy = await runCli(['namespace', 'delete', 'web'], env);
    assert.notEqual(busy.code, 0);
    assert.match(busy.stderr, /hi/);
    assert.equal((await runCli(['namespace', 'delete', 'web', '--force'], env)).code, 0);
  });
});

describe('nimbus serve --require-key', async () => {
  const dir = await createTempDir('nimbus-require-key');
  it('refuses calls without a key on loopback and prints the root key', async () => {
    const served = await serve(['--require-key', '--data-dir', dir, '--functions-port', '0']);
    try {
      const open = await fetch(`${served.url}/v1/functions`);
      assert.equal(open.status, 401);
      const key = /API key \(shown once[^)]*\): (\S+)/.exec(served.output())?.[1];
      assert.ok(key, served.output());
      const ok = await fetch(`${served.url}/v1/functions`, { headers: { authorization: `Bearer ${key}` } });
      assert.equal(ok.status, 200);
    } finally {
      await served.kill();
    }
  });
});
