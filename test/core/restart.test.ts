// Async invocations are stored before the 202: when the platform is killed
// (SIGKILL) with invocations still queued, a restart on the same data runs them.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { serve, type Served } from '../helpers/cli.ts';

describe('restart with queued async invocations', () => {
  let dataDir = '';
  const servers: Served[] = [];
  after(async () => {
    for (const s of servers) await s.kill('SIGKILL');
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('completes every accepted invocation after a kill -9 and restart', async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'nimbus-restart-'));
    const first = await serve(['--data-dir', dataDir]);
    servers.push(first);
    const put = await fetch(`${first.url}/v1/functions/slow`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        runtime: 'nodejs',
        maxSandboxes: 1,
        code: 'exports.handler = async (e) => { await new Promise(r => setTimeout(r, 300)); return { n: e.n }; }',
      }),
    });
    assert.equal(put.status, 201);
    const ids: string[] = [];
    for (let n = 0; n < 8; n++) {
      const r = await fetch(`${first.url}/v1/functions/slow/invoke?async=1`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ n }),
      });
      assert.equal(r.status, 202);
      ids.push(((await r.json()) as { activationId: string }).activationId);
    }
    await first.kill('SIGKILL');

    const second = await serve(['--data-dir', dataDir]);
    servers.push(second);
    const deadline = Date.now() + 60_000;
    const done = new Map<string, { status: string; result: { n: number } }>();
    while (done.size < ids.length && Date.now() < deadline) {
      for (const id of ids) {
        if (done.has(id)) continue;
        const rec = (await (await fetch(`${second.url}/v1/activations/${id}`)).json()) as {
          status: string;
          result: { n: number };
        };
        if (rec.status === 'success') done.set(id, rec);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(done.size, ids.length, `only ${done.size} of ${ids.length} completed after restart`);
    assert.deepEqual([...ids.map((id) => done.get(id)?.result.n)], [0, 1, 2, 3, 4, 5, 6, 7]);
  });
});
