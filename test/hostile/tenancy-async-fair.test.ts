// Attack on the shared async queue in cluster mode (NATS JetStream, where a
// process handles `concurrency` queue messages at once): namespace B makes
// async calls of a function whose webhook destination answers nothing, so each
// delivery holds its queue message through 4 attempts of 10 s. Namespace A's
// async call must still run promptly: a namespace's calls of functions with
// webhook destinations hold at most a quarter of the slots
// (src/scheduler/webhook-share.ts), the rest wait their turn.
import assert from 'node:assert/strict';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { sharedBusUrl } from '../cluster/shared-nats.ts';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.ts';
import { createTestDatabase } from '../storage/pg-database.ts';

const SLOTS = 4;
const PLAIN = 'export const handler = async () => 1;';

describe('hostile tenancy: one namespace holding the async queue with slow webhooks', async () => {
  // Made here, not in before(): each registers its own clean-up with after().
  const store = await createTestDatabase();
  const bus = sharedBusUrl({ concurrency: SLOTS });
  let t: TestPlatform;
  let tarpit: net.Server;
  const sockets = new Set<net.Socket>();
  before(async () => {
    // Takes connections and never answers: each webhook attempt waits for its timeout.
    tarpit = net.createServer((s) => {
      sockets.add(s);
      s.on('error', () => undefined);
    });
    await new Promise<void>((r) => tarpit.listen(0, '127.0.0.1', r));
    t = await startTestPlatform({
      bus,
      store,
      masterKey: randomBytes(32).toString('base64'),
      egressAllow: ['127.0.0.1/32'],
    });
  });
  after(async () => {
    for (const s of sockets) s.destroy();
    tarpit?.close();
    await t?.close();
  });

  it("B's undeliverable webhooks do not hold back A's async calls", async () => {
    const port = (tarpit.address() as AddressInfo).port;
    for (const ns of ['async-a', 'async-b'])
      assert.equal((await t.request('POST', '/v1/namespaces', { name: ns })).status, 201);
    const a = { 'x-nimbus-namespace': 'async-a' };
    const b = { 'x-nimbus-namespace': 'async-b' };
    const hook = { onSuccess: { url: `http://127.0.0.1:${port}/hook` } };
    const deploy = (h: Record<string, string>, name: string, extra: object = {}) =>
      t.request('PUT', `/v1/functions/${name}`, { runtime: 'nodejs', engine: 'isolate', code: PLAIN, ...extra }, h);
    assert.equal((await deploy(b, 'hooked', { destinations: hook })).status, 201);
    assert.equal((await deploy(a, 'quick')).status, 201);
    for (let i = 0; i < SLOTS * 2; i++)
      assert.equal((await t.request('POST', '/v1/functions/hooked/invoke?async=1', {}, b)).status, 202);
    await new Promise((r) => setTimeout(r, 2_000));
    const started = Date.now();
    const call = await t.request('POST', '/v1/functions/quick/invoke?async=1', {}, a);
    assert.equal(call.status, 202, call.text);
    for (;;) {
      const r = await t.request('GET', `/v1/activations/${call.json.activationId}`, undefined, a);
      if (r.json?.status === 'success') break;
      assert.ok(Date.now() - started < 8_000, `A's async call waited ${Date.now() - started} ms behind B's webhooks`);
      await new Promise((res) => setTimeout(res, 100));
    }
  });
});
