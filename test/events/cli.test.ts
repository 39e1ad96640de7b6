// The event verbs of the real CLI against an embedded platform: trigger
// create (cron and topic), list, get, delete, and publish with an idempotency
// key; wrong flag combinations exit 2 with a message before any request.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { runCli } from '../helpers/cli.ts';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.ts';

describe('nimbus trigger / publish', () => {
  let tp: TestPlatform;
  let env: Record<string, string>;
  before(async () => {
    tp = await startTestPlatform();
    env = { NIMBUS_URL: tp.url };
    assert.equal((await tp.deploy('worker', 'exports.handler = async (e) => e;')).status, 201);
  });
  after(() => tp.close());

  test('create, list, get, publish, delete', async () => {
    const cron = await runCli(
      ['trigger', 'create', 'nightly', '--cron', '0 3 * * *', '--timezone', 'Europe/Paris', '--function', 'worker'],
      env,
    );
    assert.equal(cron.code, 0, cron.stderr);
    assert.match(cron.stdout, /created nightly\tcron\t0 3 \* \* \* \(Europe\/Paris\)\t-> worker/);
    const topic = await runCli(
      ['trigger', 'create', 'on-order', '--topic', 'orders', '--filter', '{"kind":"new"}', '--function', 'worker'],
      env,
    );
    assert.equal(topic.code, 0, topic.stderr);
    const list = await runCli(['trigger', 'list'], env);
    assert.match(list.stdout, /nightly\tcron/);
    assert.match(list.stdout, /on-order\ttopic\torders\t-> worker/);
    const got = await runCli(['trigger', 'get', 'on-order'], env);
    assert.deepEqual(JSON.parse(got.stdout).filter, { kind: 'new' });

    const args = ['publish', 'orders', '--data', '{"kind":"new","id":7}', '--idempotency-key', 'o-7'];
    const first = await runCli(args, env);
    assert.equal(first.code, 0, first.stderr);
    const published = JSON.parse(first.stdout);
    assert.equal(published.activationIds.length, 1);
    assert.deepEqual(JSON.parse((await runCli(args, env)).stdout), published);
    const record = await tp.settled(published.activationIds[0]);
    assert.deepEqual([record.trigger, record.result], ['topic', { kind: 'new', id: 7 }]);
    const filtered = JSON.parse((await runCli(['publish', 'orders', '--data', '{"kind":"old"}'], env)).stdout);
    assert.deepEqual(filtered.activationIds, []);

    assert.equal((await runCli(['trigger', 'delete', 'nightly'], env)).code, 0);
    const gone = await runCli(['trigger', 'get', 'nightly'], env);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /not_found: trigger "nightly" does not exist/);
  });

  test('bad flags exit 2; a bad schedule prints the API reason', async () => {
    const both = await runCli(
      ['trigger', 'create', 'x', '--cron', '* * * * *', '--topic', 't', '--function', 'worker'],
      env,
    );
    assert.equal(both.code, 2);
    assert.match(both.stderr, /either --cron .* or --topic/);
    const noFn = await runCli(['trigger', 'create', 'x', '--topic', 't'], env);
    assert.equal(noFn.code, 2);
    const bad = await runCli(['trigger', 'create', 'x', '--cron', '99 * * * *', '--function', 'worker'], env);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /bad_request: invalid schedule "99 \* \* \* \*"/);
  });
});
