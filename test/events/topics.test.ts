// Topics on an embedded platform (real sandboxes, SQLite): a publish answers
// 202 once one activation per matching subscriber is stored, each runs once
// with trigger `topic`; Idempotency-Key gives the same answer and no new run;
// a topic without subscribers is 202 with none; 7 MB is a 413.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.ts';

// Each run leaves a line in its logs; the record's result is the event it got.
const ECHO = 'exports.handler = async (event) => { console.log("ran"); return event; };';

describe('topics (embedded)', () => {
  let tp: TestPlatform;
  before(async () => {
    tp = await startTestPlatform();
    for (const fn of ['audit', 'mailer', 'vip']) assert.equal((await tp.deploy(fn, ECHO)).status, 201);
    const sub = (topic: string, fn: string, filter?: Record<string, unknown>) => ({
      type: 'topic',
      topic,
      function: fn,
      ...(filter ? { filter } : {}),
    });
    for (const [name, spec] of [
      ['orders-audit', sub('orders', 'audit')],
      ['orders-mail', sub('orders', 'mailer')],
      ['orders-vip', sub('orders', 'vip', { tier: 'gold' })],
    ] as const) {
      const r = await tp.request('PUT', `/v1/triggers/${name}`, spec);
      assert.equal(r.status, 201, r.text);
    }
  });
  after(() => tp.close());

  test('two subscribers: two activations, each run once, trigger topic', async () => {
    const r = await tp.request('POST', '/v1/topics/orders/publish', { id: 1, tier: 'silver' });
    assert.equal(r.status, 202, r.text);
    assert.match(r.json.messageId, /^[0-9a-f]{32}$/);
    assert.equal(r.json.activationIds.length, 2);
    const records = await Promise.all(r.json.activationIds.map((id: string) => tp.settled(id)));
    assert.deepEqual(records.map((a) => a.functionName).sort(), ['audit', 'mailer']);
    for (const a of records) {
      assert.equal(a.trigger, 'topic');
      assert.equal(a.status, 'success');
      assert.equal(a.attempts, 1);
      assert.deepEqual(a.result, { id: 1, tier: 'silver' });
      assert.equal((a.logs as string).match(/ran/g)?.length, 1);
    }
  });

  test('a filter: only events whose fields match reach the subscriber', async () => {
    const r = await tp.request('POST', '/v1/topics/orders/publish', { id: 2, tier: 'gold' });
    assert.equal(r.json.activationIds.length, 3);
    const names = (await Promise.all(r.json.activationIds.map((id: string) => tp.settled(id)))).map(
      (a) => a.functionName,
    );
    assert.deepEqual(names.sort(), ['audit', 'mailer', 'vip']);
  });

  test('Idempotency-Key: the same answer again, nothing run twice', async () => {
    const key = { 'idempotency-key': 'order-3' };
    const first = await tp.request('POST', '/v1/topics/orders/publish', { id: 3 }, key);
    const again = await tp.request('POST', '/v1/topics/orders/publish', { id: 3 }, key);
    assert.equal(again.status, 202);
    assert.deepEqual(again.json, first.json);
    const other = await tp.request('POST', '/v1/topics/orders/publish', { id: 3 }, { 'idempotency-key': 'order-4' });
    assert.notEqual(other.json.messageId, first.json.messageId);
    for (const id of [...first.json.activationIds, ...other.json.activationIds])
      assert.equal((await tp.settled(id)).status, 'success');
    const audit = await tp.request('GET', '/v1/activations?function=audit&limit=1000');
    const runsOf3 = audit.json.activations.filter((a: any) => a.result?.id === 3);
    assert.equal(runsOf3.length, 2, 'order-3 once, order-4 once'); // not three
  });

  test('no subscriber: 202 with an empty list; bad topic 400; 7 MB 413', async () => {
    const none = await tp.request('POST', '/v1/topics/nobody-listens/publish', { x: 1 });
    assert.equal(none.status, 202);
    assert.deepEqual(none.json.activationIds, []);
    assert.equal((await tp.request('POST', '/v1/topics/bad%20topic/publish', {})).status, 400);
    const big = await tp.request('POST', '/v1/topics/orders/publish', JSON.stringify({ blob: 'x'.repeat(7 << 20) }), {
      'content-type': 'application/json',
    });
    assert.equal(big.status, 413, big.text.slice(0, 200));
  });

  test('a version or an alias as the target; a named version cannot be deleted under its trigger', async () => {
    assert.equal((await tp.deploy('pinned', 'exports.handler = async () => 1;')).status, 201);
    assert.equal((await tp.deploy('pinned', 'exports.handler = async () => 2;')).status, 200);
    const alias = await tp.request('PUT', '/v1/functions/pinned/aliases/live', { version: 2 });
    assert.ok(alias.status === 201 || alias.status === 200, alias.text);
    for (const [name, fn] of [
      ['v1', 'pinned:1'],
      ['live', 'pinned:live'],
    ])
      assert.equal(
        (await tp.request('PUT', `/v1/triggers/${name}`, { type: 'topic', topic: 'pins', function: fn })).status,
        201,
      );
    const r = await tp.request('POST', '/v1/topics/pins/publish', {});
    const results = await Promise.all(r.json.activationIds.map((id: string) => tp.settled(id)));
    assert.deepEqual(results.map((a) => [a.functionVersion, a.result]).sort(), [
      [1, 1],
      [2, 2],
    ]);
    // The version a trigger names cannot go while it does (409 naming the trigger); once the
    // trigger is gone the version can, and the alias's trigger still gets the messages.
    const refused = await tp.request('DELETE', '/v1/functions/pinned/versions/1');
    assert.equal(refused.status, 409, refused.text);
    assert.match(refused.text, /v1/);
    assert.equal((await tp.request('DELETE', '/v1/triggers/v1')).status, 200);
    assert.equal((await tp.request('DELETE', '/v1/functions/pinned/versions/1')).status, 200);
    const after = await tp.request('POST', '/v1/topics/pins/publish', {});
    assert.equal(after.status, 202);
    assert.equal(after.json.activationIds.length, 1);
    assert.deepEqual(after.json.skipped, []);
  });

  test('a deleted trigger no longer gets messages', async () => {
    assert.equal((await tp.request('DELETE', '/v1/triggers/orders-mail')).status, 200);
    const r = await tp.request('POST', '/v1/topics/orders/publish', { id: 5 });
    const names = (await Promise.all(r.json.activationIds.map((id: string) => tp.settled(id)))).map(
      (a) => a.functionName,
    );
    assert.deepEqual(names, ['audit']);
  });
});
