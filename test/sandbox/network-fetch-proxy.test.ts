// The isolate engine's fetch proxy under the egress policy: the host refuses
// to connect, on the function's behalf, to loopback, the host's own addresses,
// link-local and private ranges, whether named by IP, by a DNS name, or
// reached through a redirect; the operator's allow list opens them. Every
// target is a real listener that must never see a connection.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import http from 'node:http';
import os from 'node:os';
import { fetch } from 'undici';
import { proxyFetch } from '../../src/sandbox/isolate/fetch-proxy.ts';
import { egressAgent, type Resolve } from '../../src/sandbox/network/egress-agent.ts';
import { EgressRules, hostAddresses } from '../../src/sandbox/network/policy.ts';

interface Listener {
  host: string;
  port: number;
  hits: number;
  url(path?: string): string;
}
const servers: http.Server[] = [];
after(() => Promise.all(servers.map((s) => new Promise((r) => s.close(r)))));

async function listen(
  host: string,
  answer: (res: http.ServerResponse, l: Listener) => void = (res) => res.end('reached'),
): Promise<Listener> {
  const l: Listener = {
    host,
    port: 0,
    hits: 0,
    url: (p = '/') => `http://${host.includes(':') ? `[${host}]` : host}:${l.port}${p}`,
  };
  const server = http.createServer((_req, res) => {
    l.hits++;
    answer(res, l);
  });
  server.on('connection', () => l.hits++);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, host, r));
  l.port = (server.address() as { port: number }).port;
  return l;
}

const get = (url: string, egress?: { allow: string[] }) =>
  proxyFetch({ method: 'GET', url, headers: {}, bodyBase64: '' }, Date.now() + 5000, egress);
const ownAddress = hostAddresses().find((a) => a !== '127.0.0.1' && a !== '::1' && !a.startsWith('fe80'));

describe('isolate fetch proxy under the egress policy', () => {
  it('refuses loopback v4 and v6, and the host own address, by IP', async () => {
    for (const host of ['127.0.0.1', '::1', ...(ownAddress ? [ownAddress] : [])]) {
      const l = await listen(host);
      const answer = await get(l.url());
      assert.equal(answer.response, undefined, `${host} was fetched`);
      assert.match(answer.error ?? '', /egress refused: .*public internet only/, host);
      const mapped = host === '127.0.0.1' ? await get(`http://[::ffff:127.0.0.1]:${l.port}/`) : undefined;
      if (mapped) assert.match(mapped.error ?? '', /egress refused/);
      assert.equal(l.hits, 0, `${host} saw a connection`);
    }
  });

  it('refuses names that resolve to loopback: localhost and this host name', async () => {
    const l = await listen('127.0.0.1');
    for (const name of ['localhost', os.hostname()]) {
      const answer = await get(`http://${name}:${l.port}/`);
      assert.match(
        answer.error ?? '',
        new RegExp(`egress refused: ${name} resolves to (127\\.0\\.0\\.1|::1)`),
        `${name}: ${answer.error}`,
      );
    }
    assert.equal(l.hits, 0);
  });

  it('refuses a name when any of its addresses is refused, checking what it connects to', async () => {
    const l = await listen('127.0.0.1');
    const lookups: string[] = [];
    const resolve: Resolve = (hostname, _options, callback) => {
      lookups.push(hostname);
      const answers: Record<string, string[]> = {
        'loop.nimbus.test': ['127.0.0.1'],
        'mixed.nimbus.test': ['8.8.8.8', '127.0.0.1'],
      };
      callback(
        null,
        (answers[hostname] ?? []).map((address) => ({ address, family: 4 })),
      );
    };
    const agent = egressAgent(new EgressRules({ allow: [] }), resolve);
    for (const name of ['loop.nimbus.test', 'mixed.nimbus.test']) {
      await assert.rejects(fetch(`http://${name}:${l.port}/`, { dispatcher: agent }), (e: Error & { cause?: Error }) =>
        /egress refused: .* resolves to 127\.0\.0\.1/.test(String(e.cause?.message)),
      );
    }
    assert.deepEqual(lookups, ['loop.nimbus.test', 'mixed.nimbus.test'], 'each name is resolved once, at connect time');
    assert.equal(l.hits, 0);
    // The same resolver with loopback allowed connects: the refusal is the policy, not the resolver.
    const open = egressAgent(new EgressRules({ allow: ['127.0.0.0/8'] }), resolve);
    assert.equal(await (await fetch(`http://loop.nimbus.test:${l.port}/`, { dispatcher: open })).text(), 'reached');
    await agent.close();
    await open.close();
  });

  it('refuses link-local (cloud metadata) and private addresses', async () => {
    for (const url of [
      'http://169.254.169.254/latest/meta-data/',
      'http://10.0.0.1/',
      'http://[fe80::1]/',
      'http://[fd00::1]/',
      'http://0x7f.1/',
      'http://2130706433/',
    ]) {
      assert.match((await get(url)).error ?? '', /egress refused/, url);
    }
  });

  it('checks every redirect hop', async () => {
    const target = await listen(ownAddress ?? '::1');
    const hop = await listen('127.0.0.1', (res) => res.writeHead(302, { location: target.url('/secret') }).end());
    const answer = await get(hop.url(), { allow: ['127.0.0.1/32'] });
    assert.match(answer.error ?? '', /egress refused/);
    assert.ok(hop.hits > 0, 'the allowed first hop was fetched');
    assert.equal(target.hits, 0, 'the redirect target saw a connection');
  });

  it("lets the operator's allow list through", async () => {
    const l = await listen('127.0.0.1');
    const answer = await get(`http://localhost:${l.port}/`, { allow: ['127.0.0.0/8', '::1/128'] });
    assert.equal(answer.response?.status, 200, answer.error);
    assert.equal(Buffer.from(answer.response?.bodyBase64 ?? '', 'base64').toString(), 'reached');
  });
});
