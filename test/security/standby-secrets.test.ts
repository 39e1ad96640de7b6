// Attacker's check of microVM standby and function snapshots (issue 18): a
// secret rotated (or revoked by a new value) while the function's sandbox is
// saved in standby, or while a function snapshot of it is on disk, must not
// keep answering with the old value. The next call runs with the new one:
// the standby state (the old value in its memory) is not resumed but deleted,
// and the snapshot taken with the old value is not restored.
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { until, type ListedSandbox } from './poll.ts';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.ts';

const FN = 'rotated';

describe('standby and snapshots after a secret changes (real QEMU, through the API)', () => {
  let t: TestPlatform;
  let engines: Record<string, { available: boolean; reason: string }>;
  before(async () => {
    t = await startTestPlatform();
    engines = (await t.request('GET', '/v1/engines')).json.engines;
  });
  after(() => t.close());

  const standbyIds = async () =>
    ((await t.request('GET', '/v1/sandboxes')).json.sandboxes as ListedSandbox[])
      .filter((s) => s.functionName === FN && s.state === 'standby')
      .map((s) => s.id);
  const files = (dir: string) => readdir(path.join(t.dataDir, 'microvm', dir)).catch(() => [] as string[]);
  const setSecret = async (value: string) => {
    const r = await t.request('PUT', '/v1/secrets/api-token', { value });
    assert.ok(r.status < 300, r.text);
  };
  const call = async () => {
    const r = await t.invoke(FN);
    assert.equal(r.status, 200, r.text);
    return r.json as { token: string; n: number };
  };

  it(
    'runs the next call with the new secret, not the standby or snapshot made with the old',
    { timeout: 900_000 },
    async (ctx) => {
      if (!engines.microvm?.available) return ctx.skip(`microvm engine unavailable here: ${engines.microvm?.reason}`);
      await setSecret('old-token-1f2e');
      const deployed = await t.deploy(
        FN,
        'let n = 0; exports.handler = async () => ({ token: process.env.TOKEN, n: ++n });',
        {
          engine: 'microvm',
          secrets: { TOKEN: 'api-token' },
          timeoutMs: 60_000,
          maxSandboxes: 1,
          keepAlive: 500,
        },
      );
      assert.ok(deployed.status < 300, deployed.text);
      assert.deepEqual(await call(), { token: 'old-token-1f2e', n: 1 });
      const [parked] = await until('the sandbox in standby', async () => {
        const ids = await standbyIds();
        return ids.length ? ids : undefined;
      });
      assert.equal((await files('standby')).length, 1);

      await setSecret('new-token-9a8b');
      const next = await call();
      assert.equal(next.token, 'new-token-9a8b', 'the call ran with the old secret');
      assert.equal(next.n, 1, 'a fresh sandbox, not the resumed one');
      assert.equal((await standbyIds()).includes(parked ?? ''), false, 'the old standby sandbox is still listed');
      await until('the old standby state deleted', async () => {
        const left = await files('standby');
        return left.every((f) => !f.includes(parked ?? '')) ? true : undefined;
      });
    },
  );
});
