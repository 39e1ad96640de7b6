// Live logs (issue 16): a function that logs once a second for 3 s, followed
// through GET /v1/logs?follow=1 while it runs, on the process engine, the
// isolate engine and the container engine (the Node agent, as process and
// microvm use it). The follower sees the first line before the call ends, the
// record still has every line, and the recent lines come back without follow.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.ts';
import { follow, TICKER } from './follow.ts';

describe('live logs', () => {
  let t: TestPlatform;
  let engines: Record<string, { available: boolean; reason: string }>;
  before(async () => {
    t = await startTestPlatform();
    engines = (await t.request('GET', '/v1/engines')).json.engines;
  });
  after(() => t.close());

  for (const engine of ['process', 'isolate', 'container'] as const) {
    it(`${engine}: a follower sees each line while the call runs; the record keeps them all`, async (ctx) => {
      if (!engines[engine]?.available) return ctx.skip(`${engine} engine unavailable here: ${engines[engine]?.reason}`);
      const name = `ticker-${engine}`;
      const deployed = await t.deploy(name, TICKER, { engine, memoryMb: 256 });
      assert.ok(deployed.status < 300, deployed.text);
      const f = await follow(t.url, name);
      try {
        assert.equal(f.status, 200);
        assert.match(f.contentType ?? '', /^text\/event-stream/);
        const r = await t.invoke(name);
        const answeredAt = Date.now();
        assert.equal(r.status, 200, r.text);
        const id = r.headers.get('x-nimbus-activation-id');
        await f.waitFor('three lines', (e) => e.length >= 3);
        assert.deepEqual(
          f.events.map((e) => [e.activationId, e.function, e.line]),
          [0, 1, 2].map((i) => [id, name, `tick ${i}`]),
        );
        const record = (await t.request('GET', `/v1/activations/${id}`)).json;
        const endedAt = Date.parse(record.endedAt);
        const first = f.events[0];
        assert.ok(first);
        // The first line came about two seconds before the call ended (not with its result).
        assert.ok(first.receivedAt < endedAt - 1000, `first line at ${first.receivedAt}, call ended ${endedAt}`);
        assert.ok(first.receivedAt < answeredAt - 1000);
        assert.ok(Date.parse(first.time) >= Date.parse(record.startedAt) - 5);
        assert.equal(record.logs, 'tick 0\ntick 1\ntick 2\n');
        const recent = await t.request('GET', `/v1/logs?function=${name}`);
        assert.equal(recent.status, 200);
        assert.deepEqual(
          recent.json.lines.map((l: { activationId: string; line: string }) => [l.activationId, l.line]),
          [0, 1, 2].map((i) => [id, `tick ${i}`]),
        );
      } finally {
        f.close();
      }
    });
  }
});
