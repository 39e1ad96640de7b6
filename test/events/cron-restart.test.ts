// A cron trigger across a crash of the embedded platform: `nimbus serve` runs a
// schedule every second, is killed with SIGKILL in the middle and started
// again on the same data directory. Every tick between the trigger's creation
// and its deletion fires exactly once: none twice (the cron state and the
// tick's idempotency key), none lost (ticks missed while it was down are
// fired late on start, being younger than the grace period). Ticks missed for
// longer (ten minutes down) are skipped, or all fired once with catchUp.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import Database from 'better-sqlite3';
import { startTestPlatform } from '../helpers/platform.ts';
import { callAt, serveEmbedded } from '../helpers/serve.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('kill -9 in the middle of a schedule: no tick fired twice, none lost', { timeout: 120_000 }, async () => {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'nimbus-cron-restart-'));
  after(() => rm(dataDir, { recursive: true, force: true }));
  const first = await serveEmbedded(dataDir);
  const code = 'exports.handler = async (event) => event;';
  assert.equal((await callAt(first.url, 'PUT', '/v1/functions/tick', { runtime: 'nodejs', code })).status, 201);
  const put = await callAt(first.url, 'PUT', '/v1/triggers/every-second', {
    type: 'cron',
    schedule: '* * * * * *',
    function: 'tick',
  });
  assert.equal(put.status, 201, put.text);
  const createdAt = Date.parse(put.json.createdAt);
  await sleep(3500);
  await first.proc.kill('SIGKILL');
  await sleep(2000); // ticks due now have no process to fire them
  const second = await serveEmbedded(dataDir);
  await sleep(3500);
  assert.equal((await callAt(second.url, 'DELETE', '/v1/triggers/every-second')).status, 200);
  const deletedAt = Date.now();

  // Wait until every activation has run (the ones queued before the kill run after the restart).
  let records: { trigger: string; status: string; result: { scheduledTime?: string } | null }[] = [];
  for (const until = Date.now() + 60_000; Date.now() < until; await sleep(200)) {
    records = (await callAt(second.url, 'GET', '/v1/activations?function=tick&limit=1000')).json.activations;
    if (records.every((a) => !['queued', 'running'].includes(a.status))) break;
  }
  const times = records.map((a) => a.result?.scheduledTime ?? `(${a.status})`).sort();
  assert.ok(
    records.every((a) => a.trigger === 'cron' && a.status === 'success'),
    JSON.stringify(records.slice(0, 5)),
  );
  assert.equal(new Set(times).size, times.length, `a tick fired twice: ${times.join(' ')}`);
  const expected: string[] = [];
  for (let s = Math.floor(createdAt / 1000) + 1; s * 1000 < deletedAt - 500; s++)
    expected.push(new Date(s * 1000).toISOString());
  const missing = expected.filter((t) => !times.includes(t));
  assert.deepEqual(missing, [], `ticks lost across the restart; fired: ${times.join(' ')}`);
  assert.ok(times.length >= 8, `${times.length} ticks`);
});

test(
  'ticks missed for longer than the grace: skipped, unless the trigger asks for catchUp',
  { timeout: 120_000 },
  async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'nimbus-cron-catchup-'));
    after(() => rm(dataDir, { recursive: true, force: true }));
    let tp = await startTestPlatform({ dataDir });
    assert.equal((await tp.deploy('late', 'exports.handler = async (event) => event;')).status, 201);
    for (const [name, catchUp] of [
      ['skips', false],
      ['catches-up', true],
    ] as const) {
      const spec = { type: 'cron', schedule: '* * * * *', function: 'late', catchUp, event: { name } };
      assert.equal((await tp.request('PUT', `/v1/triggers/${name}`, spec)).status, 201);
    }
    await tp.close();
    // As if the platform had been down for ten minutes and a half since the last tick it fired.
    const tenMinutesAgo = Date.now() - 630_000;
    const db = new Database(path.join(dataDir, 'nimbus.db'));
    db.prepare('UPDATE cron_state SET last_tick = ?').run(tenMinutesAgo);
    db.close();
    tp = await startTestPlatform({ dataDir });
    after(() => tp.close());
    await sleep(2000);
    const list = await tp.request('GET', '/v1/activations?function=late&limit=1000');
    const ids: string[] = list.json.activations.map((a: { id: string }) => a.id);
    const done: any[] = await Promise.all(ids.map((id) => tp.settled(id)));
    const count = (name: string) => done.filter((a) => a.result?.name === name).length;
    // A minute boundary may fall inside the last 30 s: that one tick fires late for both.
    assert.ok(count('skips') <= 1, `skips fired ${count('skips')} missed ticks`);
    assert.ok(count('catches-up') >= 10, `catches-up fired ${count('catches-up')} of the 10 or 11 missed ticks`);
    const times = done.filter((a) => a.result?.name === 'catches-up').map((a) => a.result.scheduledTime);
    assert.equal(new Set(times).size, times.length);
  },
);
