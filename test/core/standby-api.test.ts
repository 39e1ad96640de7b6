// Standby through the API (issue 18): a microVM function's idle sandbox past
// a short keep-alive is listed by GET /v1/sandboxes as state "standby" with
// its disk size, the next call resumes it with its counter intact, and
// deleting the function deletes its standby state and function snapshots.
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.ts';

interface Listed {
  id: string;
  functionName: string;
  namespace: string;
  state: string;
  diskBytes?: number;
  createdAt?: string;
  inflight?: number;
}

describe('standby sandboxes through the API', () => {
  let t: TestPlatform;
  let engines: Record<string, { available: boolean; reason: string }>;
  before(async () => {
    t = await startTestPlatform();
    engines = (await t.request('GET', '/v1/engines')).json.engines;
  });
  after(() => t.close());

  const listed = async (fn: string) =>
    ((await t.request('GET', '/v1/sandboxes')).json.sandboxes as Listed[]).filter((s) => s.functionName === fn);
  const files = (dir: string) => readdir(path.join(t.dataDir, 'microvm', dir)).catch(() => [] as string[]);
  async function until<T>(what: string, probe: () => Promise<T | undefined>, tries = 240): Promise<T> {
    for (let i = 0; i < tries; i++) {
      const hit = await probe();
      if (hit !== undefined) return hit;
      await new Promise((r) => setTimeout(r, 500));
    }
    throw new Error(`timed out waiting for ${what}`);
  }
  const standbyOf = (fn: string) =>
    until(`${fn} in standby`, async () => (await listed(fn)).find((s) => s.state === 'standby'));

  it(
    'lists an idle microVM as standby, resumes it with its state, deletes it with the function',
    { timeout: 900_000 },
    async (ctx) => {
      if (!engines.microvm?.available) return ctx.skip(`microvm engine unavailable here: ${engines.microvm?.reason}`);
      // One sandbox: a spare the autoscaler starts beside the slow first call would have a counter of its own.
      const deployed = await t.deploy('sleeper', 'let n = 0; exports.handler = async () => ++n', {
        engine: 'microvm',
        timeoutMs: 60_000,
        maxSandboxes: 1,
        keepAlive: 500,
      });
      assert.equal(deployed.status < 300, true, deployed.text);
      assert.equal((await t.invoke('sleeper')).json, 1);
      assert.equal((await t.invoke('sleeper')).json, 2);
      const standby = await standbyOf('sleeper');
      assert.ok((standby.diskBytes ?? 0) > 0, `diskBytes ${standby.diskBytes}`);
      assert.equal(standby.namespace, 'default');
      assert.equal(typeof standby.createdAt, 'string', 'listed with the fields of a running sandbox');
      assert.equal(standby.inflight, 0);
      assert.equal((await listed('sleeper')).length, 1, 'the stopped sandbox is the only one');
      assert.equal((await files('standby')).length, 1);

      const resumed = await t.invoke('sleeper');
      assert.equal(resumed.json, 3, 'the counter survived standby');
      assert.deepEqual(
        (await listed('sleeper')).map((s) => [s.id, s.state]),
        [[standby.id, 'ready']],
      );
      await standbyOf('sleeper');
      assert.equal((await t.request('DELETE', '/v1/functions/sleeper')).status < 300, true);
      await until(
        'the standby state and function snapshots deleted',
        async () => {
          const left = [...(await files('standby')), ...(await files('function-snapshots'))];
          return left.length === 0 ? true : undefined;
        },
        60,
      );
      assert.deepEqual(await listed('sleeper'), []);
    },
  );
});
