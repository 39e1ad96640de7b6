// Attacker's (and crash's) check of batched async accepts: a 202 promises the
// call is durable. A burst of async calls is accepted (their queue writes
// group-committed), the embedded platform gets SIGKILL right after the last
// 202, and is started again on the same data directory: every accepted call
// must run to its end, none lost in a group that was not yet committed.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { callAt, serveEmbedded } from '../helpers/serve.ts';

const BURST = 60;

test(
  'SIGKILL right after a burst of 202s: every accepted call runs after the restart',
  { timeout: 240_000 },
  async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'nimbus-sec-kill-accept-'));
    after(() => rm(dataDir, { recursive: true, force: true }));
    const first = await serveEmbedded(dataDir);
    const deployed = await callAt(first.url, 'PUT', '/v1/functions/slowish', {
      runtime: 'nodejs',
      engine: 'isolate',
      code: 'export const handler = async (e) => { await new Promise((r) => setTimeout(r, 200)); return { i: e.i }; };',
      maxSandboxes: 1,
      concurrency: 1,
    });
    assert.ok(deployed.status < 300, deployed.text);
    const accepted = await Promise.all(
      Array.from({ length: BURST }, (_, i) => callAt(first.url, 'POST', '/v1/functions/slowish/invoke?async=1', { i })),
    );
    await first.proc.kill('SIGKILL');
    for (const r of accepted) assert.equal(r.status, 202, r.text);
    const ids = accepted.map((r) => r.json.activationId as string);

    const second = await serveEmbedded(dataDir);
    const ended = new Map<string, Record<string, unknown>>();
    for (let round = 0; round < 600 && ended.size < ids.length; round++) {
      for (const id of ids.filter((i) => !ended.has(i))) {
        const r = await callAt(second.url, 'GET', `/v1/activations/${id}`);
        assert.equal(r.status, 200, `accepted activation ${id} is gone after the restart: ${r.text}`);
        if (!['queued', 'running'].includes(r.json.status)) ended.set(id, r.json);
      }
      if (ended.size < ids.length) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    assert.equal(ended.size, ids.length, `${ids.length - ended.size} accepted calls never ran after the restart`);
    const failed = [...ended.values()].filter((a) => a.status !== 'success');
    assert.deepEqual(
      failed.map((a) => [a.activationId, a.status]),
      [],
      'accepted calls that did not succeed after the restart',
    );
  },
);
