// Egress, tried as a hostile function would: on every engine, with network on
// and off, a function connects to the host's loopback (127.0.0.1, ::1), the
// host's own non-loopback address, the cloud metadata address 169.254.169.254
// (on a dummy interface made for the test) and a DNS name that resolves to
// loopback. A real listener waits at each target and must never see a
// connection. A platform that allows those ranges (egressAllow) lets the same
// function through, so a pass means the policy blocked it, not a broken network.
// A container with network also cannot listen on the host's 0.0.0.0.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { EngineKind } from '../../src/sandbox/driver.ts';
import { hostAddresses } from '../../src/sandbox/network/policy.ts';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.ts';

const METADATA = '169.254.169.254';
const DUMMY = 'nimbus-egress0';
const SLOWNESS: Record<EngineKind, number> = { process: 1, isolate: 1, container: 2, microvm: 10 };

interface Listener {
  host: string;
  port: number;
  connections: number;
  server: net.Server;
}

async function listen(host: string): Promise<Listener> {
  const l = { host, port: 0, connections: 0 } as Listener;
  l.server = net.createServer((s) => {
    l.connections++;
    s.end('HTTP/1.1 200 OK\r\ncontent-length: 7\r\nconnection: close\r\n\r\nreached');
  });
  await new Promise<void>((resolve, reject) => l.server.listen(0, host, resolve).once('error', reject));
  l.port = (l.server.address() as net.AddressInfo).port;
  return l;
}

const ip = (...args: string[]) => spawnSync('ip', args, { encoding: 'utf8' });
const hostIp = hostAddresses().find((a) => net.isIPv4(a) && !a.startsWith('127.') && !a.startsWith('169.254.'));
const listeners: Record<string, Listener> = {};
const platforms: TestPlatform[] = [];
let blocked: TestPlatform;
let allowing: TestPlatform;
let engines: Record<string, { available: boolean; reason: string }> = {};
let metadataDevice = 'lo';
let metadataAdded = false;

before(async () => {
  assert.ok(hostIp, 'this host needs a non-loopback IPv4 address');
  ip('link', 'del', DUMMY);
  // A dummy interface where the kernel has the module; otherwise the address goes on lo (removed in after()).
  if (ip('link', 'add', DUMMY, 'type', 'dummy').status === 0) {
    execFileSync('ip', ['link', 'set', DUMMY, 'up']);
    metadataDevice = DUMMY;
  }
  execFileSync('ip', ['addr', 'add', `${METADATA}/32`, 'dev', metadataDevice]);
  metadataAdded = true;
  for (const host of ['127.0.0.1', '::1', hostIp, METADATA]) listeners[host] = await listen(host);
  blocked = await startTestPlatform();
  platforms.push(blocked);
  allowing = await startTestPlatform({ egressAllow: ['127.0.0.0/8', '::1/128', `${hostIp}/32`] });
  platforms.push(allowing);
  engines = (await blocked.request('GET', '/v1/engines')).json.engines;
});

after(async () => {
  for (const p of platforms) await p.close();
  for (const l of Object.values(listeners)) l.server.close();
  if (metadataAdded) ip('addr', 'del', `${METADATA}/32`, 'dev', metadataDevice);
  ip('link', 'del', DUMMY);
});

/** Connects to each target and says what happened: "connected" or the error. */
const NODE_DIALER = `const net = require('net');
exports.handler = async ({ targets }) => {
  const out = {};
  await Promise.all(targets.map(({ label, host, port }) => new Promise((resolve) => {
    const s = net.connect({ host, port });
    const done = (r) => { out[label] = r; s.destroy(); resolve(); };
    s.setTimeout(3000, () => done('timeout'));
    s.on('connect', () => done('connected'));
    s.on('error', (e) => done(e.code || e.message));
  })));
  return out;
};`;

/** The isolate's only way out: fetch, done by the host under the egress policy. */
const ISOLATE_DIALER = `exports.handler = async ({ targets }) => {
  const out = {};
  await Promise.all(targets.map(async ({ label, url }) => {
    try { out[label] = 'connected ' + (await (await fetch(url)).text()); } catch (e) { out[label] = String(e && e.message || e); }
  }));
  return out;
};`;

interface Target {
  label: string;
  listener: Listener;
  host: string;
}

function targets(engine: EngineKind): Target[] {
  const l = listeners;
  const list: Target[] = [
    { label: '127.0.0.1', listener: l['127.0.0.1']!, host: '127.0.0.1' },
    { label: '::1', listener: l['::1']!, host: '::1' },
    { label: `host ${hostIp}`, listener: l[hostIp!]!, host: hostIp! },
    { label: METADATA, listener: l[METADATA]!, host: METADATA },
    { label: 'localhost', listener: l['127.0.0.1']!, host: 'localhost' },
  ];
  // The host's own name resolves to 127.0.0.1 here (/etc/hosts): only the isolate resolves names on the host.
  if (engine === 'isolate')
    list.push({ label: `name ${os.hostname()}`, listener: l['127.0.0.1']!, host: os.hostname() });
  return list;
}

function event(engine: EngineKind, list: Target[]) {
  return {
    targets: list.map(({ label, listener, host }) =>
      engine === 'isolate'
        ? { label, url: `http://${host.includes(':') ? `[${host}]` : host}:${listener.port}/` }
        : { label, host, port: listener.port },
    ),
  };
}

async function dial(
  t: TestPlatform,
  name: string,
  engine: EngineKind,
  network: boolean,
  list: Target[],
): Promise<Record<string, string>> {
  const d = await t.deploy(name, engine === 'isolate' ? ISOLATE_DIALER : NODE_DIALER, {
    engine,
    network,
    timeoutMs: 20_000 * SLOWNESS[engine],
    maxSandboxes: 1,
  });
  assert.ok(d.status === 201 || d.status === 200, d.text);
  const r = await t.invoke(name, event(engine, list));
  assert.equal(r.status, 200, r.text.slice(0, 500));
  await t.request('DELETE', `/v1/functions/${name}`);
  return r.json as Record<string, string>;
}

const counts = () => Object.fromEntries(Object.entries(listeners).map(([k, l]) => [k, l.connections]));

for (const engine of ['process', 'isolate', 'container', 'microvm'] as const) {
  describe(`egress from ${engine}`, () => {
    const skip = (ctx: { skip(reason: string): void }) => {
      if (!engines[engine]?.available) return (ctx.skip(`engine unavailable here: ${engines[engine]?.reason}`), true);
      return false;
    };

    for (const network of [false, true]) {
      it(
        `network: ${network}: loopback, ::1, the host's address, ${METADATA} and localhost are all unreachable`,
        { timeout: 120_000 * SLOWNESS[engine] },
        async (ctx) => {
          if (skip(ctx)) return;
          const before = counts();
          const list = targets(engine);
          const results = await dial(blocked, `egress-${engine}-${network ? 'on' : 'off'}`, engine, network, list);
          for (const { label } of list) {
            assert.ok(results[label] !== undefined, `no result for ${label}: ${JSON.stringify(results)}`);
            assert.doesNotMatch(results[label]!, /^connected/, `${engine} with network: ${network} reached ${label}`);
            if (engine === 'isolate')
              assert.match(
                results[label]!,
                network ? /egress refused/ : /without network access|no network access/,
                label,
              );
          }
          assert.deepEqual(counts(), before, 'a listener on the host saw a connection');
          ctx.diagnostic(JSON.stringify(results));
        },
      );
    }

    it(
      'with the ranges allowed (egressAllow), the same function gets through',
      { timeout: 120_000 * SLOWNESS[engine] },
      async (ctx) => {
        if (skip(ctx)) return;
        // From an OS sandbox 127.0.0.1 is its own loopback, so the host's own address is the target there.
        const target = targets(engine).find(
          (x) => x.label === (engine === 'isolate' ? '127.0.0.1' : `host ${hostIp}`),
        )!;
        const before = target.listener.connections;
        const results = await dial(allowing, `egress-${engine}-allowed`, engine, true, [target]);
        assert.match(results[target.label] ?? '', /^connected/, JSON.stringify(results));
        assert.ok(target.listener.connections > before, 'the listener saw no connection');
      },
    );
  });
}

describe('listening from a container with network', () => {
  it('a port the function binds on 0.0.0.0 is not reachable from the host', { timeout: 240_000 }, async (ctx) => {
    if (!engines.container?.available) return ctx.skip(`engine unavailable here: ${engines.container?.reason}`);
    const probe = await listen('127.0.0.1');
    const port = probe.port;
    probe.server.close();
    const code = `const net = require('net'); let server;
      exports.handler = async ({ port, self }) => {
        if (!server) { server = net.createServer((s) => s.end('from the function')); await new Promise((r, j) => server.listen(port, '0.0.0.0', r).on('error', j)); }
        if (!self) return 'listening';
        return await new Promise((resolve) => { const s = net.connect(port, '127.0.0.1'); s.on('data', (d) => { resolve(String(d)); s.destroy(); }); s.on('error', (e) => resolve(e.code)); });
      };`;
    const d = await blocked.deploy('egress-listen', code, { engine: 'container', network: true, maxSandboxes: 1 });
    assert.ok(d.status === 201 || d.status === 200, d.text);
    assert.equal((await blocked.invoke('egress-listen', { port })).json, 'listening');
    for (const host of ['127.0.0.1', hostIp!]) {
      const outcome = await new Promise<string>((resolve) => {
        const s = net.connect(port, host);
        s.setTimeout(3000, () => (s.destroy(), resolve('timeout')));
        s.on('connect', () => (s.destroy(), resolve('connected')));
        s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
      });
      assert.notEqual(outcome, 'connected', `the host reached the function's port on ${host}`);
    }
    // The function does listen: from inside its sandbox the port answers.
    assert.equal((await blocked.invoke('egress-listen', { port, self: true })).json, 'from the function');
    await blocked.request('DELETE', '/v1/functions/egress-listen');
  });
});

describe('--egress-allow', () => {
  it('refuses a bad CIDR before starting, naming it', () => {
    const main = path.resolve(import.meta.dirname, '../../src/cli/main.ts');
    const r = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        main,
        'serve',
        '--port',
        '0',
        '--egress-allow',
        '10.0.0.0/8',
        '--egress-allow',
        '10.0.0.0/40',
      ],
      { encoding: 'utf8', timeout: 30_000 },
    );
    assert.equal(r.status, 2, r.stderr);
    assert.match(
      r.stderr,
      /--egress-allow "10\.0\.0\.0\/40" is not a CIDR: the prefix length 40 is over 32.*such as --egress-allow 10\.1\.0\.0\/16/,
    );
  });
});

describe('a namespace of its own per sandbox', () => {
  const netns = (pid: number) => readlinkSync(`/proc/${pid}/ns/net`);
  const sandboxesOf = async (t: TestPlatform, name: string) =>
    (
      (await t.request('GET', '/v1/sandboxes')).json.sandboxes as {
        id: string;
        functionName: string;
        details: { pid: number };
      }[]
    ).filter((s) => s.functionName === name);

  it(
    "two prewarmed containers with network each get their own, neither the host's",
    { timeout: 240_000 },
    async (ctx) => {
      if (!engines.container?.available) return ctx.skip(`engine unavailable here: ${engines.container?.reason}`);
      const d = await blocked.deploy('egress-ns-ct', NODE_DIALER, {
        engine: 'container',
        network: true,
        maxSandboxes: 2,
      });
      assert.ok(d.status === 201 || d.status === 200, d.text);
      for (let i = 0; i < 2; i++)
        assert.equal((await blocked.request('POST', '/v1/functions/egress-ns-ct/sandboxes')).status, 201);
      const spaces = (await sandboxesOf(blocked, 'egress-ns-ct')).map((s) => netns(s.details.pid));
      assert.equal(spaces.length, 2);
      assert.equal(new Set([...spaces, netns(process.pid)]).size, 3, `namespaces: ${spaces.join(', ')}`);
      await blocked.request('DELETE', '/v1/functions/egress-ns-ct');
    },
  );

  it('a microVM with network migrates into a new namespace of the same kind', { timeout: 600_000 }, async (ctx) => {
    if (!engines.microvm?.available) return ctx.skip(`engine unavailable here: ${engines.microvm?.reason}`);
    const name = 'egress-migrate-vm';
    const list = targets('microvm');
    const d = await blocked.deploy(name, NODE_DIALER, {
      engine: 'microvm',
      network: true,
      maxSandboxes: 1,
      timeoutMs: 60_000,
    });
    assert.ok(d.status === 201 || d.status === 200, d.text);
    assert.equal((await blocked.invoke(name, event('microvm', [list[0]!]))).status, 200);
    const [before] = await sandboxesOf(blocked, name);
    assert.ok(before, 'no sandbox');
    const oldSpace = netns(before.details.pid);
    const m = await blocked.request('POST', `/v1/sandboxes/${before.id}/migrate`, {});
    assert.equal(m.status, 200, m.text);
    const [moved] = await sandboxesOf(blocked, name);
    assert.ok(moved && moved.details.pid !== before.details.pid, 'the sandbox runs in a new QEMU');
    const newSpace = netns(moved.details.pid);
    assert.notEqual(newSpace, netns(process.pid), 'the migrated QEMU shares the host network namespace');
    assert.notEqual(newSpace, oldSpace);
    const counted = counts();
    const r = await blocked.invoke(name, event('microvm', list));
    assert.equal(r.status, 200, r.text);
    for (const { label } of list)
      assert.doesNotMatch(String(r.json[label]), /^connected/, `after migration the VM reached ${label}`);
    assert.deepEqual(counts(), counted, 'a listener on the host saw a connection');
    await blocked.request('DELETE', `/v1/functions/${name}`);
  });
});
