// Binding beyond loopback requires the API key: generated on first start,
// stored in the data directory, and checked on every request but /healthz.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.ts';

describe('API key', () => {
  let t: TestPlatform;
  before(async () => {
    t = await startTestPlatform({ host: '0.0.0.0' });
  });
  after(() => t.close());

  it('is generated into the data directory', async () => {
    assert.equal(t.platform.apiKey?.created, true);
    const stored = (await readFile(path.join(t.dataDir, 'api-key'), 'utf8')).trim();
    assert.equal(stored, t.platform.apiKey?.key);
  });

  it('is required for the API, not for /healthz', async () => {
    const base = t.url.replace('0.0.0.0', '127.0.0.1');
    const open = await fetch(`${base}/v1/functions`);
    assert.equal(open.status, 401);
    assert.equal(((await open.json()) as { error: { code: string } }).error.code, 'unauthorized');
    const wrong = await fetch(`${base}/v1/functions`, { headers: { authorization: 'Bearer nope' } });
    assert.equal(wrong.status, 401);
    const right = await fetch(`${base}/v1/functions`, {
      headers: { authorization: `Bearer ${t.platform.apiKey?.key}` },
    });
    assert.equal(right.status, 200);
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
  });
});
