// `nimbus deploy` against a nimbus without triggers or aliases: a proxy in front
// of a real embedded nimbus answers those routes as an older server does (404
// "no route …"), and the CLI must say "this server does not support triggers
// yet" at that part of nimbus.yaml and apply nothing, not fail silently. A key
// of another namespace than the file's is refused with the file's line.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runBin, type Ran } from '../helpers/cli.ts';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.ts';

function nimbus(cwd: string, url: string, key = ''): Promise<Ran> {
  return runBin(cwd, ['deploy'], { NIMBUS_URL: url, NIMBUS_API_KEY: key, NIMBUS_NAMESPACE: '' });
}

/**
 * Forwards every request to nimbus, except paths matching `hidden`, answered as nimbus answers an
 * unknown route, and deploys whose JSON has `destinations`, refused as the deploy refused an unknown
 * field before destinations existed.
 */
async function olderServer(target: string, hidden: RegExp): Promise<{ url: string; server: Server }> {
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const pathOnly = (req.url ?? '/').split('?')[0] ?? '/';
    if (hidden.test(pathOnly)) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'not_found', message: `no route ${req.method} ${pathOnly}` } }));
      return;
    }
    if (req.method === 'PUT' && /^\/v1\/functions\/[^/]+$/.test(pathOnly) && chunks.length) {
      const body = JSON.parse(Buffer.concat(chunks).toString()) as Record<string, unknown>;
      if ('destinations' in body) {
        res.writeHead(400, { 'content-type': 'application/json' });
        const message = 'invalid deploy request: unknown field "destinations" (the fields are runtime, code, env)';
        res.end(JSON.stringify({ error: { code: 'bad_request', message } }));
        return;
      }
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string' && k !== 'host') headers[k] = v;
    const body = chunks.length ? new Uint8Array(Buffer.concat(chunks)) : undefined;
    const answer = await fetch(`${target}${req.url}`, { method: req.method, headers, body });
    res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' });
    res.end(Buffer.from(await answer.arrayBuffer()));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe('nimbus deploy against a server without some parts', () => {
  let t: TestPlatform;
  let dir: string;
  let proxy: { url: string; server: Server };
  before(async () => {
    t = await startTestPlatform();
    proxy = await olderServer(t.url, /^\/v1\/triggers|\/aliases/);
    dir = await mkdtemp(path.join(os.tmpdir(), 'nimbus-older-'));
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'a.js'), 'exports.handler = async () => 1;');
  });
  after(async () => {
    await new Promise((resolve) => proxy.server.close(resolve));
    await t.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('says the server does not support triggers yet, at the triggers line, and applies nothing', async () => {
    await writeFile(
      path.join(dir, 'nimbus.yaml'),
      "functions:\n  a:\n    code: a.js\ntriggers:\n  tick: { type: cron, schedule: '* * * * *', function: a }\n",
    );
    const r = await nimbus(dir, proxy.url);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /nimbus\.yaml:4:1: this server does not support triggers yet/);
    assert.equal((await t.request('GET', '/v1/functions/a')).status, 404);
    // Without a triggers section the same server deploys the file.
    await writeFile(path.join(dir, 'nimbus.yaml'), 'functions:\n  a:\n    code: a.js\n');
    const ok = await nimbus(dir, proxy.url);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal((await t.request('GET', '/v1/functions/a')).status, 200);
  });

  it('says the server does not support aliases yet, at the aliases line, and applies nothing', async () => {
    await writeFile(
      path.join(dir, 'nimbus.yaml'),
      'functions:\n  a:\n    code: a.js\n    memoryMb: 192\n    aliases:\n      live: { version: latest }\n',
    );
    const r = await nimbus(dir, proxy.url);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /nimbus\.yaml:5:5: this server does not support aliases yet/);
    assert.equal((await t.request('GET', '/v1/functions/a')).json.config.memoryMb, 256);
  });

  it('says the server does not support destinations yet, at the destinations line', async () => {
    await writeFile(
      path.join(dir, 'nimbus.yaml'),
      'functions:\n  a:\n    code: a.js\n    timeoutMs: 7000\n    destinations:\n      onFailure: { topic: failures }\n',
    );
    const r = await nimbus(dir, proxy.url);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /nimbus\.yaml:5:5: this server does not support destinations yet/);
    assert.notEqual((await t.request('GET', '/v1/functions/a')).json.config.timeoutMs, 7000);
  });

  it("refuses a file naming another namespace than the key's, at the namespace line", async () => {
    for (const name of ['team-a', 'team-b'])
      assert.equal((await t.request('POST', '/v1/namespaces', { name })).status, 201);
    const key = await t.request('POST', '/v1/keys', { namespace: 'team-a', role: 'developer' });
    assert.equal(key.status, 201, key.text);
    await writeFile(path.join(dir, 'nimbus.yaml'), 'namespace: team-b\nfunctions:\n  a:\n    code: a.js\n');
    const r = await nimbus(dir, t.url, key.json.key);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /namespace "team-b" \(nimbus\.yaml:1:1\): forbidden/);
    assert.equal(
      (await t.request('GET', '/v1/functions', undefined, { 'x-nimbus-namespace': 'team-b' })).json.functions.length,
      0,
    );
  });
});
