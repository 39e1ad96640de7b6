// The dry-run deploy that `nimbus deploy` plans with: PUT /v1/functions/:name?dryRun=1
// builds and checks exactly as a deploy does and says create / update / unchanged,
// storing nothing (no function, no version, no artifact), for JSON and archives,
// on SQLite and on PostgreSQL.
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import tar from 'tar-stream';
import type { PlatformOptions } from '../../src/platform.ts';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.ts';
import { platformStore, STORE_KINDS } from '../helpers/stores.ts';

const code = (n: number) => `exports.handler = async () => ({ n: ${n} });`;

async function tarGz(files: Record<string, string>): Promise<Buffer> {
  const pack = tar.pack();
  for (const [name, text] of Object.entries(files)) pack.entry({ name }, text);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  return gzipSync(Buffer.concat(chunks));
}

for (const kind of STORE_KINDS)
  describe(`PUT /v1/functions/:name?dryRun=1 (${kind})`, async () => dryRunCases(await platformStore(kind)));

function dryRunCases(options: PlatformOptions): void {
  let t: TestPlatform;
  before(async () => {
    t = await startTestPlatform(options);
  });
  after(() => t.close());

  it('says create for a new function and stores nothing', async () => {
    const r = await t.request('PUT', '/v1/functions/dry?dryRun=1', { runtime: 'nodejs', code: code(1), memoryMb: 192 });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.change, 'create');
    assert.equal(r.json.config.memoryMb, 192);
    assert.match(r.json.sha256, /^[0-9a-f]{64}$/);
    assert.equal((await t.request('GET', '/v1/functions/dry')).status, 404);
    assert.equal((await t.request('GET', '/v1/functions')).json.functions.length, 0);
  });

  it('says unchanged for the same code and config, update for new code or config, and keeps the version', async () => {
    const d = await t.deploy('dry2', code(1));
    assert.equal(d.status, 201, d.text);
    const same = await t.request('PUT', '/v1/functions/dry2?dryRun=true', { runtime: 'nodejs', code: code(1) });
    assert.equal(same.json.change, 'unchanged', same.text);
    assert.equal(same.json.sha256, d.json.artifact.sha256);
    const newCode = await t.request('PUT', '/v1/functions/dry2?dryRun=1', { runtime: 'nodejs', code: code(2) });
    assert.equal(newCode.json.change, 'update', newCode.text);
    assert.notEqual(newCode.json.sha256, d.json.artifact.sha256);
    const newCfg = await t.request('PUT', '/v1/functions/dry2?dryRun=1', { code: code(1), timeoutMs: 5000 });
    assert.equal(newCfg.json.change, 'update', newCfg.text);
    const now = await t.request('GET', '/v1/functions/dry2');
    assert.equal(now.json.version, 1);
    assert.equal(now.json.artifact.sha256, d.json.artifact.sha256);
    assert.equal((await t.invoke('dry2')).json.n, 1);
    // dryRun=0 is an ordinary deploy.
    const real = await t.request('PUT', '/v1/functions/dry2?dryRun=0', { runtime: 'nodejs', code: code(2) });
    assert.equal(real.status, 200, real.text);
    assert.equal(real.json.version, 2);
  });

  it('plans an archive deploy with config in the query, without taking dryRun as config', async () => {
    const archive = await tarGz({ 'index.js': code(7) });
    const put = (q: string) =>
      t.request('PUT', `/v1/functions/arch${q}`, archive, { 'content-type': 'application/gzip' });
    const plan = await put('?dryRun=1&memoryMb=160');
    assert.equal(plan.status, 200, plan.text);
    assert.equal(plan.json.change, 'create');
    assert.equal(plan.json.config.memoryMb, 160);
    assert.equal((await t.request('GET', '/v1/functions/arch')).status, 404);
    assert.equal((await put('?memoryMb=160')).status, 201);
    assert.equal((await put('?dryRun=1&memoryMb=160')).json.change, 'unchanged');
  });

  it('fails a dry run exactly as the deploy would: a build error, a bad config, a bad dryRun value', async () => {
    const broken = await t.request('PUT', '/v1/functions/broken?dryRun=1', { code: 'exports.handler = (' });
    assert.equal(broken.status, 400);
    assert.equal(broken.json.error.code, 'compile_error');
    const badCfg = await t.request('PUT', '/v1/functions/broken?dryRun=1', { code: code(1), memoryMb: 5 });
    assert.equal(badCfg.status, 400);
    assert.match(badCfg.json.error.message, /memoryMb/);
    const badFlag = await t.request('PUT', '/v1/functions/broken?dryRun=maybe', { code: code(1) });
    assert.equal(badFlag.status, 400);
    assert.match(badFlag.json.error.message, /dryRun must be 1, true, 0 or false/);
    assert.equal((await t.request('GET', '/v1/functions/broken')).status, 404);
  });
}
