// Triggers on an embedded platform (real sandboxes, SQLite): a cron schedule
// every second fires once per tick with records that say `cron`; the trigger
// API's bad input is a 400 that stores nothing; a function a trigger uses
// cannot be deleted without ?force=1; another namespace sees none of it.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.ts';

const ECHO = 'exports.handler = async (event) => event;';

/** A function's activations (newest first), as the API lists them. */
async function activations(tp: TestPlatform, fn: string, headers?: Record<string, string>) {
  const r = await tp.request('GET', `/v1/activations?function=${fn}&limit=1000`, undefined, headers);
  assert.equal(r.status, 200, r.text);
  return r.json.activations as { id: string; trigger: string; status: string; result: any }[];
}

describe('cron triggers (embedded)', () => {
  let tp: TestPlatform;
  before(async () => {
    tp = await startTestPlatform();
    assert.equal((await tp.deploy('tick', ECHO)).status, 201);
  });
  after(() => tp.close());

  test('every second: one activation per tick over a window, trigger cron, the tick time in the event', async () => {
    const put = await tp.request('PUT', '/v1/triggers/each-second', {
      type: 'cron',
      schedule: '* * * * * *',
      function: 'tick',
      event: { hello: 'cron' },
    });
    assert.equal(put.status, 201, put.text);
    assert.equal(put.json.type, 'cron');
    const startedAt = Date.now();
    await new Promise((r) => setTimeout(r, 5500));
    const seen = await tp.request('GET', '/v1/triggers/each-second');
    assert.ok(Date.parse(seen.json.lastTick) > startedAt, seen.text);
    assert.ok(Date.parse(seen.json.nextTick) > Date.parse(seen.json.lastTick), seen.text);
    assert.equal((await tp.request('DELETE', '/v1/triggers/each-second')).status, 200);
    const stoppedAt = Date.now();
    await new Promise((r) => setTimeout(r, 1500)); // no tick after the delete
    const records = await activations(tp, 'tick');
    for (const a of records) await tp.settled(a.id);
    const done = await activations(tp, 'tick');
    const times = done.map((a) => a.result?.scheduledTime as string).sort();
    assert.ok(
      done.every((a) => a.trigger === 'cron' && a.status === 'success' && a.result.hello === 'cron'),
      JSON.stringify(done),
    );
    assert.equal(new Set(times).size, times.length, `a tick fired twice: ${times}`);
    // Every whole second strictly between creation and deletion, once.
    const expected: string[] = [];
    for (let s = Math.floor(startedAt / 1000) + 1; s * 1000 < stoppedAt - 300; s++)
      expected.push(new Date(s * 1000).toISOString());
    for (const t of expected) assert.ok(times.includes(t), `tick ${t} is missing: ${times}`);
    assert.ok(times.length <= expected.length + 1, `too many ticks: ${times} (expected ${expected})`);
    assert.ok(times.length >= 4, `${times.length} ticks in 5.5 s`);
  });

  test('bad input: 400 with the reason, nothing stored', async () => {
    const bad: [unknown, RegExp][] = [
      [{ type: 'cron', schedule: '* * *', function: 'tick' }, /invalid schedule.*exactly five.*for example/],
      [{ type: 'cron', schedule: '61 * * * *', function: 'tick' }, /minute: 61/],
      [
        { type: 'cron', schedule: '* * * * *', timezone: 'Mars/Base', function: 'tick' },
        /invalid timezone "Mars\/Base"/,
      ],
      [{ type: 'cron', schedule: '* * * * *', function: 'nope' }, /function "nope", which does not exist/],
      [{ type: 'cron', schedule: '* * * * *', function: 'tick:7' }, /no version 7/],
      [{ type: 'topic', topic: 'a/b', function: 'tick' }, /topic must be/],
      [{ type: 'topic', topic: 'orders', function: 'tick', filter: { a: { nested: 1 } } }, /filter/],
      [{ type: 'queue', function: 'tick' }, /type must be "cron" or "topic"/],
      [{ type: 'cron', schedule: '* * * * *', function: 'tick', extra: 1 }, /unknown field "extra"|extra/],
    ];
    for (const [body, message] of bad) {
      const r = await tp.request('PUT', '/v1/triggers/bad', body);
      assert.equal(r.status, 400, `${JSON.stringify(body)} -> ${r.text}`);
      assert.match(r.json.error.message, message);
    }
    assert.equal(
      (await tp.request('PUT', '/v1/triggers/bad%20name', { type: 'topic', topic: 't', function: 'tick' })).status,
      400,
    );
    assert.equal((await tp.request('GET', '/v1/triggers/bad')).status, 404);
    assert.deepEqual((await tp.request('GET', '/v1/triggers')).json.triggers, []);
  });

  test('a function in use: delete is 409 naming the trigger; ?force=1 deletes both', async () => {
    assert.equal((await tp.deploy('used', ECHO)).status, 201);
    const spec = { type: 'cron', schedule: '0 0 1 1 *', function: 'used' };
    assert.equal((await tp.request('PUT', '/v1/triggers/yearly', spec)).status, 201);
    assert.equal((await tp.request('PUT', '/v1/triggers/yearly', spec)).status, 200); // replaced
    const got = await tp.request('GET', '/v1/triggers/yearly');
    assert.equal(got.json.schedule, '0 0 1 1 *');
    assert.equal(got.json.lastTick, null);
    assert.equal(got.json.nextTick, `${new Date().getUTCFullYear() + 1}-01-01T00:00:00.000Z`);
    const refused = await tp.request('DELETE', '/v1/functions/used');
    assert.equal(refused.status, 409, refused.text);
    assert.match(refused.json.error.message, /trigger "yearly".*force=1/);
    assert.equal((await tp.request('GET', '/v1/functions/used')).status, 200);
    assert.equal((await tp.request('DELETE', '/v1/functions/used?force=1')).status, 200);
    assert.equal((await tp.request('GET', '/v1/functions/used')).status, 404);
    assert.equal((await tp.request('GET', '/v1/triggers/yearly')).status, 404);
  });

  test('another namespace neither sees nor deletes a trigger, and cannot point one at this namespace', async () => {
    const spec = { type: 'topic', topic: 'private', function: 'tick' };
    assert.equal((await tp.request('PUT', '/v1/triggers/mine', spec)).status, 201);
    const other = { 'x-nimbus-namespace': 'team-b' };
    const made = await tp.request('POST', '/v1/namespaces', { name: 'team-b' });
    assert.ok(made.status === 201 || made.status === 409, made.text);
    assert.equal((await tp.request('GET', '/v1/triggers/mine', undefined, other)).status, 404);
    assert.deepEqual((await tp.request('GET', '/v1/triggers', undefined, other)).json.triggers, []);
    assert.equal((await tp.request('DELETE', '/v1/triggers/mine', undefined, other)).status, 404);
    const steal = await tp.request('PUT', '/v1/triggers/steal', spec, other);
    assert.equal(steal.status, 400, steal.text); // "tick" does not exist in team-b
    const pub = await tp.request('POST', '/v1/topics/private/publish', { x: 1 }, other);
    assert.equal(pub.status, 202);
    assert.deepEqual(pub.json.activationIds, []);
    assert.equal((await tp.request('GET', '/v1/triggers/mine')).status, 200);
    assert.equal((await tp.request('DELETE', '/v1/triggers/mine')).status, 200);
  });
});
