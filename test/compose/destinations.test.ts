// Destinations of async invocations on a real embedded platform: success to a
// function, failure to a signed webhook on a local server (HMAC checked), a
// failing webhook retried and every attempt recorded, a webhook to loopback
// refused when the operator has not allowed it, bad configs refused at deploy,
// and a destination chain that stops after 8 hops.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.ts';

interface Hook {
  server: Server;
  url: string;
  bodies: { body: string; signature: string | undefined }[];
  /** Status to answer with. */
  status: number;
}

async function hookServer(): Promise<Hook> {
  const hook = { bodies: [], status: 200 } as unknown as Hook;
  hook.server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      hook.bodies.push({
        body: Buffer.concat(chunks).toString(),
        signature: req.headers['x-nimbus-signature'] as string,
      });
      res.writeHead(hook.status).end();
    });
  });
  await new Promise<void>((r) => hook.server.listen(0, '127.0.0.1', r));
  hook.url = `http://127.0.0.1:${(hook.server.address() as AddressInfo).port}/hook`;
  return hook;
}

async function until<T>(what: string, f: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const engine = { engine: 'isolate' };

describe('destinations', () => {
  let p: TestPlatform;
  let hook: Hook;
  before(async () => {
    hook = await hookServer();
    p = await startTestPlatform({ asyncRetries: 0, egressAllow: ['127.0.0.1/32'] });
    assert.equal((await p.request('PUT', '/v1/secrets/hook-key', { value: 's3cret-signing-key' })).status, 201);
    assert.equal(
      (await p.deploy('sink', 'exports.handler = async (e) => ({ got: e.functionName, status: e.status })', engine))
        .status,
      201,
    );
  });
  after(async () => {
    await p.close();
    hook.server.close();
  });

  it('success goes to a function: its activation gets the record (without logs) as its event', async () => {
    const d = await p.deploy('ok', 'exports.handler = async (e) => { console.log("hi"); return { n: e.n } }', {
      ...engine,
      destinations: { onSuccess: { function: 'sink' } },
    });
    assert.equal(d.status, 201, d.text);
    const r = await p.invoke('ok', { n: 7 }, '?async=1');
    const source = await until('the destination outcome', async () => {
      const rec = await p.settled(r.json.activationId);
      return rec.destination ? rec : undefined;
    });
    const outcome = source.destination as { delivered: boolean; activationIds: string[] };
    assert.equal(outcome.delivered, true, JSON.stringify(outcome));
    const sink = await p.settled(outcome.activationIds[0] ?? '');
    assert.equal(sink.trigger, 'destination');
    assert.equal(sink.chainDepth, 1);
    assert.deepEqual(sink.result, { got: 'ok', status: 'success' });
  });

  it('success goes to a topic: each subscriber gets an activation one hop down', async () => {
    const t = await p.request('PUT', '/v1/triggers/on-done', { type: 'topic', topic: 'done', function: 'sink' });
    assert.equal(t.status, 201, t.text);
    const d = await p.deploy('pub', 'exports.handler = async () => 1', {
      ...engine,
      destinations: { onSuccess: { topic: 'done' } },
    });
    assert.equal(d.status, 201, d.text);
    const r = await p.invoke('pub', {}, '?async=1');
    const source = await until('the topic outcome', async () => {
      const rec = await p.settled(r.json.activationId);
      return rec.destination ? rec : undefined;
    });
    const outcome = source.destination as { delivered: boolean; activationIds: string[] };
    assert.equal(outcome.activationIds.length, 1, JSON.stringify(outcome));
    const sink = await p.settled(outcome.activationIds[0] ?? '');
    assert.equal(sink.trigger, 'topic');
    assert.equal(sink.chainDepth, 1);
    assert.deepEqual(sink.result, { got: 'pub', status: 'success' });
  });

  it('failure goes to a webhook signed with HMAC-SHA256 under the named secret', async () => {
    hook.status = 200;
    hook.bodies.length = 0;
    const d = await p.deploy('bad', 'exports.handler = async () => { throw new Error("nope") }', {
      ...engine,
      destinations: { onFailure: { url: hook.url, secret: 'hook-key' } },
    });
    assert.equal(d.status, 201, d.text);
    const r = await p.invoke('bad', {}, '?async=1');
    const got = await until('the webhook', async () => hook.bodies[0]);
    const expected = `sha256=${createHmac('sha256', 's3cret-signing-key').update(got.body).digest('hex')}`;
    assert.equal(got.signature, expected);
    const body = JSON.parse(got.body);
    assert.equal(body.id, r.json.activationId);
    assert.equal(body.status, 'dead_letter', 'no retries left: the failure is final');
    assert.equal(body.logs, undefined, 'the record goes without its logs');
    const rec = await until('the recorded attempt', async () => {
      const a = await p.settled(r.json.activationId);
      return a.destination ? a : undefined;
    });
    const outcome = rec.destination as { delivered: boolean; attempts: { status: number }[] };
    assert.equal(outcome.delivered, true);
    assert.equal(outcome.attempts[0]?.status, 200);
    assert.doesNotMatch(JSON.stringify((await p.request('GET', '/v1/functions/bad')).json), /s3cret/);
  });

  it('a failing webhook is retried with backoff, then recorded with every attempt and status', async () => {
    hook.status = 500;
    hook.bodies.length = 0;
    const r = await p.invoke('bad', {}, '?async=1');
    const rec = await until(
      'the failed delivery',
      async () => {
        const a = await p.settled(r.json.activationId);
        return a.destination ? a : undefined;
      },
      30_000,
    );
    const outcome = rec.destination as { delivered: boolean; attempts: { status: number }[]; error: string };
    assert.equal(outcome.delivered, false);
    assert.ok(outcome.attempts.length >= 2, JSON.stringify(outcome));
    assert.ok(outcome.attempts.every((a) => a.status === 500));
    assert.equal(hook.bodies.length, outcome.attempts.length);
    assert.match(outcome.error, /not delivered after/);
  });

  it('a destination chain that fails into itself stops after 8 hops', async () => {
    const d = await p.deploy('loopy', 'exports.handler = async () => { throw new Error("again") }', {
      ...engine,
      destinations: { onFailure: { function: 'loopy' } },
    });
    assert.equal(d.status, 201, d.text);
    await p.invoke('loopy', {}, '?async=1');
    const last = await until('the end of the chain', async () => {
      const list = await p.request('GET', '/v1/activations?function=loopy&limit=100');
      const ended = (list.json.activations as Record<string, any>[]).find(
        (a) => a.destination && !a.destination.delivered,
      );
      return ended;
    });
    assert.equal(last.chainDepth, 8);
    assert.match(last.destination.error, /stopped after 8 hops/);
    await new Promise((r) => setTimeout(r, 500));
    const all = await p.request('GET', '/v1/activations?function=loopy&limit=100');
    assert.equal(all.json.activations.length, 9, 'the first call and 8 hops');
  });

  it('refuses bad destinations at deploy: not http(s), unknown function; nothing stored', async () => {
    const ftp = await p.deploy('d1', 'exports.handler = async () => 1', {
      ...engine,
      destinations: { onFailure: { url: 'ftp://example.com/x' } },
    });
    assert.equal(ftp.status, 400);
    assert.match(ftp.json.error.message, /http/);
    const unknown = await p.deploy('d1', 'exports.handler = async () => 1', {
      ...engine,
      destinations: { onSuccess: { function: 'ghost' } },
    });
    assert.equal(unknown.status, 400);
    assert.match(unknown.json.error.message, /"ghost"/);
    assert.equal((await p.request('GET', '/v1/functions/d1')).status, 404);
  });
});

describe('destinations: a webhook to loopback without --egress-allow', () => {
  it('is refused by the egress policy and recorded, never sent', async () => {
    const hook = await hookServer();
    const p = await startTestPlatform({ asyncRetries: 0 });
    try {
      const d = await p.deploy('bad', 'exports.handler = async () => { throw new Error("x") }', {
        ...engine,
        destinations: { onFailure: { url: hook.url } },
      });
      assert.equal(d.status, 201, d.text);
      const r = await p.invoke('bad', {}, '?async=1');
      const rec = await until('the refused delivery', async () => {
        const a = await p.settled(r.json.activationId);
        return a.destination ? a : undefined;
      });
      const outcome = rec.destination as { delivered: boolean; error: string; attempts: unknown[] };
      assert.equal(outcome.delivered, false);
      assert.match(outcome.error, /egress refused/);
      assert.equal(outcome.attempts.length, 1, 'a refusal is not retried');
      assert.equal(hook.bodies.length, 0);
    } finally {
      await p.close();
      hook.server.close();
    }
  });
});
