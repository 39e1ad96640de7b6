// `nimbus deploy --keep-alive <ms> --records <policy>` (the real CLI against a
// real embedded platform): the flags reach the stored config, a share becomes
// {sample}, and a policy it does not know is refused before anything is sent.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../helpers/cli.ts';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.ts';

describe('nimbus deploy --keep-alive --records', () => {
  let t: TestPlatform;
  let dir: string;
  let env: Record<string, string>;
  before(async () => {
    t = await startTestPlatform();
    dir = await mkdtemp(path.join(os.tmpdir(), 'nimbus-deploy-scaling-'));
    env = { NIMBUS_URL: t.url, NIMBUS_NAMESPACE: '' };
    await writeFile(path.join(dir, 'quiet.js'), 'exports.handler = async () => "ok";');
  });
  after(async () => {
    await t.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('stores the keep-alive and the records policy the flags give', async () => {
    const file = path.join(dir, 'quiet.js');
    const d = await runCli(['deploy', file, '--keep-alive', '30000', '--records', '0.25'], env);
    assert.equal(d.code, 0, d.stderr);
    const config = (await t.request('GET', '/v1/functions/quiet')).json.config;
    assert.equal(config.keepAlive, 30_000);
    assert.deepEqual(config.records, { sample: 0.25 });
    const errors = await runCli(['deploy', file, '--records', 'errors'], env);
    assert.equal(errors.code, 0, errors.stderr);
    assert.equal((await t.request('GET', '/v1/functions/quiet')).json.config.records, 'errors');
  });

  it('refuses a records policy it does not know', async () => {
    const bad = await runCli(['deploy', path.join(dir, 'quiet.js'), '--name', 'other', '--records', 'some'], env);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--records takes all, errors, or a share from 0 to 1/);
    assert.equal((await t.request('GET', '/v1/functions/other')).status, 404);
  });
});
