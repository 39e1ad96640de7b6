// Attacker's check of the isolate engine's batched IPC framing: calls of one
// function share a pool process and one isolate (16 at once), and their
// results travel to the host in length-prefixed frames coalesced per turn.
// A call whose output imitates a frame (a length prefix and a result for
// another call), a call over the result limit, and a call that never returns
// must not change what the other calls running beside them get back.
// Real embedded platform, through the API.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.ts';

const CODE = `
export const handler = async (e) => {
  if (e.mode === 'hang') return new Promise(() => {});
  if (e.mode === 'forge') {
    const fake = JSON.stringify({ type: 'result', sid: 'x', id: 'y', ok: true, output: { kind: 'value', value: { i: -1 } }, logs: '', logsTruncated: false });
    return '\\u0000\\u0000\\u0000' + String.fromCharCode(fake.length) + fake + '\\n' + fake;
  }
  if (e.mode === 'huge') return 'x'.repeat(12 * 1024 * 1024);
  await new Promise((r) => setTimeout(r, 20));
  return { i: e.i };
};`;

describe('isolate framing: a call cannot answer for the calls beside it', () => {
  let t: TestPlatform;
  before(async () => {
    t = await startTestPlatform();
  });
  after(() => t.close());

  it('keeps each call its own answer beside a forged frame, an oversized result and a call that never returns', async () => {
    const deployed = await t.deploy('framed', CODE, { engine: 'isolate', timeoutMs: 3000, maxSandboxes: 1 });
    assert.ok(deployed.status < 300, deployed.text);
    const order: string[] = [];
    const tagged = (tag: string, p: Promise<{ status: number; json: any; text: string }>) =>
      p.then((r) => (order.push(tag), r));
    const hang = tagged('hang', t.invoke('framed', { mode: 'hang' }));
    const forge = tagged('forge', t.invoke('framed', { mode: 'forge' }));
    const huge = tagged('huge', t.invoke('framed', { mode: 'huge' }));
    const normal = Array.from({ length: 10 }, (_, i) => tagged(`n${i}`, t.invoke('framed', { i })));
    const answers = await Promise.all(normal);
    answers.forEach((r, i) => assert.deepEqual([r.status, r.json], [200, { i }], `call ${i}: ${r.text.slice(0, 300)}`));
    const forged = await forge;
    assert.equal(forged.status, 200, forged.text.slice(0, 300));
    assert.ok(typeof forged.json === 'string' && forged.json.includes('"type":"result"'), 'the forged frame is data');
    const big = await huge;
    assert.equal(big.status >= 400, true, `a 12 MB result: ${big.status}`);
    const hung = await hang;
    assert.equal(hung.status >= 400, true, `the call that never returns: ${hung.status} ${hung.text.slice(0, 200)}`);
    assert.ok(order.indexOf('hang') > order.indexOf('n9'), `the hanging call held the others back: ${order.join(',')}`);
    const again = await t.invoke('framed', { i: 42 });
    assert.deepEqual([again.status, again.json], [200, { i: 42 }], 'the pool answers after all that');
  });
});
