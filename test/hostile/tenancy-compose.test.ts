// Attacks through what names other functions: sequences, destinations,
// triggers and topics of namespace B naming A's function (qualified, with a
// version or alias), A's topic and A's secrets; webhook destinations aimed at
// the host (loopback in every spelling, the host's own address, the metadata
// address), which must be refused without --egress-allow; and a namespace's
// invocationsPerMinute, which a sequence's steps must not multiply.
import assert from 'node:assert/strict';
import http from 'node:http';
import os from 'node:os';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.ts';
import { A, A_SECRET_VALUE, B, FN, twoTenants, type Tenants } from './tenancy-fixture.ts';

const PLAIN = 'export const handler = async (e) => ({ ok: true, e });';

describe('hostile tenancy: sequences, destinations, triggers and topics', () => {
  let x: Tenants;
  let trap: http.Server;
  let trapPort = 0;
  let trapHits = 0;
  before(async () => {
    x = await twoTenants();
    // Anything that reaches this server from the platform is a hole: it listens on every host address.
    trap = http.createServer((req, res) => {
      trapHits++;
      res.end('ok');
    });
    await new Promise<void>((r) => trap.listen(0, '0.0.0.0', r));
    trapPort = (trap.address() as AddressInfo).port;
  });
  after(async () => {
    trap?.close();
    await x?.t.close();
  });

  const bDev = () => x.as(B, 'developer');
  const deployB = (name: string, config: Record<string, unknown>) =>
    x.t.request(
      'PUT',
      `/v1/functions/${name}`,
      { runtime: 'nodejs', engine: 'isolate', code: PLAIN, ...config },
      bDev(),
    );
  const aRuns = async () =>
    (await x.t.request('GET', `/v1/activations?function=${FN}&limit=1000`, undefined, x.as(A, 'reader'))).json
      .activations.length as number;

  it("B's sequences, destinations and triggers cannot name A's function in any form", async () => {
    const refs = [`${A}/${FN}`, `${FN}`, `${FN}:1`, `${FN}:live`, `~${A}/${FN}`, `../${A}/${FN}`, `${A}:${FN}`];
    for (const ref of refs) {
      const seq = await x.t.request('PUT', '/v1/functions/evil-seq', { kind: 'sequence', steps: [ref] }, bDev());
      assert.equal(seq.status, 400, `sequence step ${ref}: ${seq.status} ${seq.text}`);
      for (const on of ['onSuccess', 'onFailure']) {
        const d = await deployB('evil-dest', { destinations: { [on]: { function: ref } } });
        assert.equal(d.status, 400, `destination ${on} ${ref}: ${d.status} ${d.text}`);
      }
      const trig = await x.t.request(
        'PUT',
        '/v1/triggers/evil-trigger',
        { type: 'cron', schedule: '* * * * * *', function: ref },
        bDev(),
      );
      assert.equal(trig.status, 400, `trigger ${ref}: ${trig.status} ${trig.text}`);
    }
    // Nothing half-written: B has no function and no trigger of those names.
    assert.equal((await x.t.request('GET', '/v1/functions', undefined, bDev())).json.functions.length, 0);
    assert.equal((await x.t.request('GET', '/v1/triggers', undefined, bDev())).json.triggers.length, 0);
    assert.equal(await aRuns(), 1);
  });

  it("B cannot use A's secrets: not in a function's env, not to sign a webhook", async () => {
    const mapped = await deployB('evil-env', { secrets: { STOLEN: 'vault-pass' } });
    assert.equal(mapped.status, 400, mapped.text);
    const signed = await deployB('evil-hook', {
      destinations: { onSuccess: { url: 'https://example.com/hook', secret: 'vault-pass' } },
    });
    assert.equal(signed.status, 400, signed.text);
    assert.ok(!mapped.text.includes('a-secret-value') && !signed.text.includes('a-secret-value'));
  });

  it("B's objects named like A's are B's own: making, replacing and deleting them never touches or names A's", async () => {
    const b = bDev();
    assert.equal((await x.t.request('PUT', '/v1/secrets/vault-pass', { value: 'b-value' }, b)).status, 201);
    assert.equal((await x.t.request('PUT', '/v1/secrets/vault-pass', { value: 'b-value-2' }, b)).status, 200);
    const delSecret = await x.t.request('DELETE', '/v1/secrets/vault-pass', undefined, b);
    assert.equal(delSecret.status, 200, `A's function that maps A's secret of that name blocks B: ${delSecret.text}`);
    assert.equal((await deployB(FN, {})).status, 201);
    const trig = await x.t.request(
      'PUT',
      '/v1/triggers/vault-sub',
      { type: 'topic', topic: 'orders', function: FN },
      b,
    );
    assert.equal(trig.status, 201, trig.text);
    assert.equal((await x.t.request('DELETE', '/v1/triggers/vault-sub', undefined, b)).status, 200);
    const delFn = await x.t.request('DELETE', `/v1/functions/${FN}`, undefined, b);
    assert.equal(delFn.status, 200, `A's trigger or alias blocks B's delete: ${delFn.text}`);
    // A's are as they were: its function still runs with its own secret, its trigger and alias are there.
    const a = await x.t.request('POST', `/v1/functions/${FN}/invoke`, {}, x.as(A, 'invoker'));
    assert.equal(a.status, 200, a.text);
    assert.equal(a.json.secret, A_SECRET_VALUE);
    assert.equal((await x.t.request('GET', '/v1/triggers/vault-sub', undefined, x.as(A, 'reader'))).status, 200);
    assert.equal(
      (await x.t.request('GET', `/v1/functions/${FN}/aliases/live`, undefined, x.as(A, 'reader'))).status,
      200,
    );
  });

  it("a publish or a topic destination of B never reaches A's subscriber of the same topic", async () => {
    const aBefore = await aRuns();
    const pub = await x.t.request('POST', '/v1/topics/orders/publish', { from: 'b' }, x.as(B, 'invoker'));
    assert.equal(pub.status, 202, pub.text);
    assert.deepEqual(pub.json.activationIds, []);
    const d = await deployB('to-topic', { destinations: { onSuccess: { topic: 'orders' } } });
    assert.equal(d.status, 201, d.text);
    const call = await x.t.request('POST', '/v1/functions/to-topic/invoke?async=1', {}, x.as(B, 'invoker'));
    assert.equal(call.status, 202, call.text);
    const settled = await settledAs(x, call.json.activationId, x.as(B, 'reader'));
    assert.equal(settled.status, 'success');
    assert.deepEqual(settled.destination?.activationIds, [], JSON.stringify(settled.destination));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await aRuns(), aBefore, "A's subscriber ran for B");
  });

  it('webhook destinations to the host, loopback in any spelling or the metadata address are refused', async () => {
    const p = trapPort;
    const urls = [
      `http://127.0.0.1:${p}/`,
      `http://localhost:${p}/`,
      `http://localhost.:${p}/`,
      `http://127.1:${p}/`,
      `http://2130706433:${p}/`,
      `http://0x7f000001:${p}/`,
      `http://0.0.0.0:${p}/`,
      `http://[::1]:${p}/`,
      `http://[::ffff:127.0.0.1]:${p}/`,
      `http://[::ffff:7f00:1]:${p}/`,
      `http://[::]:${p}/`,
      `http://169.254.169.254/latest/meta-data/`,
      ...hostAddresses().map((a) => `http://${a.includes(':') ? `[${a}]` : a}:${p}/`),
    ];
    for (const url of urls) {
      const d = await deployB('hooked', { destinations: { onSuccess: { url } } });
      assert.ok([200, 201].includes(d.status), `${url}: ${d.status} ${d.text}`);
      const call = await x.t.request('POST', '/v1/functions/hooked/invoke?async=1', {}, x.as(B, 'invoker'));
      assert.equal(call.status, 202, call.text);
      const rec = await settledAs(x, call.json.activationId, x.as(B, 'reader'));
      assert.equal(rec.status, 'success');
      assert.equal(rec.destination?.delivered, false, `${url} delivered: ${JSON.stringify(rec.destination)}`);
      assert.match(String(rec.destination?.error), /egress refused|refused|ENOTFOUND|EAI_AGAIN/, url);
    }
    assert.equal(trapHits, 0, 'a webhook reached the host');
    // Credentials in a webhook URL would show in the config and in each failed attempt's error: refused at deploy.
    const creds = await deployB('hooked', { destinations: { onSuccess: { url: 'https://user:pw@example.com/' } } });
    assert.equal(creds.status, 400, creds.text);
    assert.match(creds.text, /user or password/);
  });

  it("a sequence's steps count against the namespace's invocationsPerMinute", async () => {
    const ns = 'greedy-c';
    assert.equal(
      (await x.t.request('POST', '/v1/namespaces', { name: ns, quotas: { invocationsPerMinute: 5 } })).status,
      201,
    );
    const root = { 'x-nimbus-namespace': ns };
    const step = await x.t.request(
      'PUT',
      '/v1/functions/step',
      { runtime: 'nodejs', engine: 'isolate', code: PLAIN },
      root,
    );
    assert.equal(step.status, 201, step.text);
    const steps = Array.from({ length: 30 }, () => 'step');
    const seq = await x.t.request('PUT', '/v1/functions/burst', { kind: 'sequence', steps }, root);
    assert.equal(seq.status, 201, seq.text);
    const call = await x.t.request('POST', '/v1/functions/burst/invoke', {}, root);
    const id = call.headers.get('x-nimbus-activation-id');
    assert.ok(id, call.text);
    assert.equal(call.status, 429, call.text);
    assert.ok(Number(call.headers.get('retry-after')) >= 1, 'a 429 says when to retry');
    const parent = (await x.t.request('GET', `/v1/activations/${id}`, undefined, root)).json;
    const ran = (parent.childActivationIds as string[]).length;
    // 5 a minute (twice that if the minute turned during the call): never 30 from one admitted call.
    assert.ok(ran <= 10, `one call of a sequence ran ${ran} steps past invocationsPerMinute 5`);
    assert.notEqual(parent.status, 'success');
    assert.equal(parent.error?.code, 'throttled', JSON.stringify(parent.error));
  });
});

async function settledAs(x: Tenants, id: string, headers: Record<string, string>): Promise<any> {
  const until = Date.now() + 30_000;
  for (;;) {
    const r = await x.t.request('GET', `/v1/activations/${id}`, undefined, headers);
    const done = r.status === 200 && !['queued', 'running'].includes(r.json.status);
    // The destination is written after the run ends: wait for it when the function names one.
    if (done && (r.json.destination || Date.now() > until - 20_000)) return r.json;
    if (Date.now() > until) throw new Error(`activation ${id} did not settle: ${r.text.slice(0, 300)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function hostAddresses(): string[] {
  return Object.values(os.networkInterfaces())
    .flatMap((list) => list ?? [])
    .map((a) => a.address.split('%')[0]!)
    .filter((a) => !a.startsWith('fe80'));
}

describe('hostile tenancy: a webhook allowed by --egress-allow that redirects elsewhere', () => {
  let t: TestPlatform;
  let allowed: http.Server;
  let elsewhere: http.Server;
  let elsewhereHits = 0;
  before(async () => {
    // Both allowed: only not following the redirect keeps the second from being reached.
    t = await startTestPlatform({ egressAllow: ['127.0.0.1/32', '127.0.0.2/32'] });
    elsewhere = http.createServer((_req, res) => {
      elsewhereHits++;
      res.end('ok');
    });
    await new Promise<void>((r) => elsewhere.listen(0, '127.0.0.2', r));
    const to = `http://127.0.0.2:${(elsewhere.address() as AddressInfo).port}/stolen`;
    allowed = http.createServer((_req, res) => res.writeHead(307, { location: to }).end());
    await new Promise<void>((r) => allowed.listen(0, '127.0.0.1', r));
  });
  after(async () => {
    allowed?.close();
    elsewhere?.close();
    await t?.close();
  });

  it('is not followed: the record says what answered, the other address gets nothing', async () => {
    const url = `http://127.0.0.1:${(allowed.address() as AddressInfo).port}/hook`;
    const d = await t.deploy('hooked', PLAIN, { engine: 'isolate', destinations: { onSuccess: { url } } });
    assert.equal(d.status, 201, d.text);
    const call = await t.invoke('hooked', {}, '?async=1');
    assert.equal(call.status, 202, call.text);
    let rec: any;
    for (const until = Date.now() + 20_000; Date.now() < until; await new Promise((r) => setTimeout(r, 50))) {
      rec = (await t.request('GET', `/v1/activations/${call.json.activationId}`)).json;
      if (rec.destination) break;
    }
    assert.equal(rec.destination?.delivered, false, JSON.stringify(rec.destination));
    assert.equal(rec.destination?.attempts?.[0]?.status, 307);
    assert.equal(elsewhereHits, 0, 'the redirect was followed');
  });
});
