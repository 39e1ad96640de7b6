// Sequences (OpenWhisk semantics) on a real embedded platform: each step's
// result is the next step's event, sync and async; one parent record lists
// the children; a failing middle step stops the sequence with its error and
// status; unknown steps and cycles are refused at deploy; a function a
// sequence uses cannot be deleted without ?force=1.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../helpers/cli.ts';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.ts';

const engine = { engine: 'isolate' };

describe('sequences', () => {
  let p: TestPlatform;
  before(async () => {
    p = await startTestPlatform();
    for (const [name, code] of [
      ['add1', 'exports.handler = async (e) => ({ n: e.n + 1 })'],
      ['double', 'exports.handler = async (e) => ({ n: e.n * 2 })'],
      ['boom', 'exports.handler = async (e) => { throw new Error("boom at " + e.n) }'],
    ]) {
      const r = await p.deploy(name as string, code as string, engine);
      assert.ok(r.status < 300, r.text);
    }
  });
  after(() => p.close());

  it('runs each step with the previous result, sync; one parent record lists the children', async () => {
    const d = await p.request('PUT', '/v1/functions/calc', { kind: 'sequence', steps: ['add1', 'double', 'add1'] });
    assert.equal(d.status, 201, d.text);
    assert.equal(d.json.config.kind, 'sequence');
    const r = await p.invoke('calc', { n: 1 });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { n: 5 });
    const parent = await p.settled(r.headers.get('x-nimbus-activation-id') ?? '');
    assert.equal(parent.status, 'success');
    assert.equal(parent.engine, 'sequence');
    const children = parent.childActivationIds as string[];
    assert.equal(children.length, 3);
    const results = [];
    for (const id of children) {
      const c = await p.settled(id);
      assert.equal(c.trigger, 'sequence');
      assert.equal(c.parentActivationId, parent.id);
      results.push(c.result);
    }
    assert.deepEqual(results, [{ n: 2 }, { n: 4 }, { n: 5 }]);
  });

  it('runs async: 202, then the parent record ends with the last result', async () => {
    const r = await p.invoke('calc', { n: 10 }, '?async=1');
    assert.equal(r.status, 202, r.text);
    const parent = await p.settled(r.json.activationId);
    assert.equal(parent.status, 'success', JSON.stringify(parent));
    assert.deepEqual(parent.result, { n: 23 });
    assert.equal((parent.childActivationIds as string[]).length, 3);
  });

  it('a failing middle step stops the sequence with that step’s error and status', async () => {
    assert.equal(
      (await p.request('PUT', '/v1/functions/broken', { kind: 'sequence', steps: ['add1', 'boom', 'double'] })).status,
      201,
    );
    const r = await p.invoke('broken', { n: 1 });
    assert.equal(r.status, 502, r.text);
    assert.match(r.text, /boom at 2/);
    const parent = await p.settled(r.headers.get('x-nimbus-activation-id') ?? '');
    assert.equal(parent.status, 'error');
    assert.equal((parent.childActivationIds as string[]).length, 2, 'the third step never ran');
  });

  it('nimbus deploy <name> --sequence a,b deploys one, and invoke runs it', async () => {
    const env = { NIMBUS_URL: p.url };
    const d = await runCli(['deploy', 'twice', '--sequence', 'double,double'], env);
    assert.equal(d.code, 0, d.stderr);
    assert.match(d.stdout, /sequence twice version 1: double → double/);
    const inv = await runCli(['invoke', 'twice', '--data', '{"n":3}'], env);
    assert.equal(inv.code, 0, inv.stderr);
    assert.match(inv.stdout, /"n":\s*12/);
    const bad = await runCli(['deploy', 'nope', '--sequence', 'double,ghost'], env);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /"ghost"/);
  });

  it('nested sequences run their steps in place', async () => {
    assert.equal(
      (await p.request('PUT', '/v1/functions/outer', { kind: 'sequence', steps: ['calc', 'double'] })).status,
      201,
    );
    const r = await p.invoke('outer', { n: 1 });
    assert.deepEqual(r.json, { n: 10 });
  });

  it('refuses at deploy: an unknown step (400 naming it), a cycle (400), bad shapes; nothing stored', async () => {
    const unknown = await p.request('PUT', '/v1/functions/s1', { kind: 'sequence', steps: ['add1', 'nope'] });
    assert.equal(unknown.status, 400);
    assert.match(unknown.json.error.message, /"nope"/);
    assert.equal((await p.request('GET', '/v1/functions/s1')).status, 404);
    const self = await p.request('PUT', '/v1/functions/loop', { kind: 'sequence', steps: ['add1'] });
    assert.equal(self.status, 201);
    const cycle = await p.request('PUT', '/v1/functions/loop2', { kind: 'sequence', steps: ['loop'] });
    assert.equal(cycle.status, 201);
    const back = await p.request('PUT', '/v1/functions/loop', { kind: 'sequence', steps: ['loop2'] });
    assert.equal(back.status, 400, back.text);
    assert.match(back.json.error.message, /loop → loop2 → loop/);
    assert.deepEqual((await p.request('GET', '/v1/functions/loop')).json.config.steps, ['add1']);
    const empty = await p.request('PUT', '/v1/functions/s2', { kind: 'sequence', steps: [] });
    assert.equal(empty.status, 400);
    assert.match(empty.json.error.message, /at least one step/);
  });

  it('a function a sequence uses is a 409 to delete, naming the sequence; ?force=1 deletes it', async () => {
    const r = await p.request('DELETE', '/v1/functions/double');
    assert.equal(r.status, 409, r.text);
    assert.match(r.json.error.message, /calc/);
    assert.equal((await p.request('GET', '/v1/functions/double')).status, 200);
    assert.equal((await p.request('DELETE', '/v1/functions/double?force=1')).status, 200);
    const after = await p.invoke('calc', { n: 1 });
    assert.equal(after.status, 404, after.text);
    assert.match(after.json.error.message, /double/);
  });
});
