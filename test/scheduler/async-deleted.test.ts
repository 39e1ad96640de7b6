// Async calls still queued when their function is deleted do not run: each
// ends with `not_found` ("deleted before it ran"), even though the process
// running the queue keeps version records cached (the invoker's cache, which
// a delete drops on every process before the queue reaches those calls).
// Embedded, where the scheduler holds queued calls until a sandbox slot is
// near. (In a cluster, the invoker's queue consumer takes up to `concurrency`
// messages at once and hands them to its pool, where a delete lets them run:
// a retired pool drains.)
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.ts';
import type { TestResponse } from '../helpers/platform.ts';

const CODE =
  'exports.handler = async (event) => { await new Promise((r) => setTimeout(r, event.holdMs)); return "ran"; };';
const CALLS = 8;

interface Api {
  deploy(): Promise<TestResponse>;
  accept(): Promise<TestResponse>;
  remove(): Promise<TestResponse>;
  settled(id: string): Promise<Record<string, unknown>>;
}

async function deletedWhileQueued(api: Api): Promise<void> {
  assert.equal((await api.deploy()).status, 201);
  const ids: string[] = [];
  for (let i = 0; i < CALLS; i++) {
    const r = await api.accept();
    assert.equal(r.status, 202, r.text);
    ids.push(r.json.activationId as string);
  }
  // One sandbox of one slot, 1.5 s a call: the first runs, the others wait in the queue.
  await new Promise((r) => setTimeout(r, 500));
  assert.equal((await api.remove()).status, 200);
  const records = [];
  for (const id of ids) records.push(await api.settled(id));
  const notRun = records.filter((r) => (r.error as { code?: string } | null)?.code === 'not_found');
  assert.ok(notRun.length >= CALLS - 3, `calls queued at the delete did not run: ${JSON.stringify(records)}`);
  for (const r of notRun) {
    assert.equal(r.status, 'error');
    assert.match((r.error as { message: string }).message, /deleted before it ran/);
  }
}

const CONFIG = { concurrency: 1, maxSandboxes: 1 };
const EVENT = { holdMs: 1500 };

describe('async calls of a deleted function (embedded)', () => {
  let t: TestPlatform;
  before(async () => {
    t = await startTestPlatform();
  });
  after(() => t.close());

  it('ends the calls still queued with not_found instead of running them', () =>
    deletedWhileQueued({
      deploy: () => t.deploy('gone', CODE, CONFIG),
      accept: () => t.invoke('gone', EVENT, '?async=1'),
      remove: () => t.request('DELETE', '/v1/functions/gone'),
      settled: (id) => t.settled(id, 60_000),
    }));
});
