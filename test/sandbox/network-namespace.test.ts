// The network namespace OS sandboxes get with `network: true`: from inside,
// the host's loopback, its own address and private ranges are refused by the
// kernel (nftables), the DNS forwarder answers on port 53 only, the allow list
// opens what it names, and nothing outlives close() or the platform's death.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { openSandboxNetwork } from '../../src/sandbox/network/namespace.ts';
import { hostAddresses } from '../../src/sandbox/network/policy.ts';

const hostIp = hostAddresses().find((a) => net.isIPv4(a) && !a.startsWith('127.'))!;
const servers: net.Server[] = [];
after(() => servers.forEach((s) => s.close()));

async function listener(host: string): Promise<{ port: number; connections: () => number }> {
  let n = 0;
  const server = net.createServer((s) => (n++, s.end('reached')));
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, host, r));
  return { port: (server.address() as net.AddressInfo).port, connections: () => n };
}

/** Connects from inside the namespace with bash's /dev/tcp; "connected" or bash's error. */
async function dialFrom(netnsPath: string, host: string, port: number): Promise<string> {
  const script = `timeout 3 bash -c 'exec 3<>/dev/tcp/${host}/${port}' 2>&1 && echo connected || true`;
  const { stdout } = await promisify(execFile)('nsenter', [`--net=${netnsPath}`, 'bash', '-c', script]);
  return stdout.trim();
}

const alive = async (pid: number) =>
  !/^\S+ \S+ [ZX]/.test((await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '0 (x) X')).replace(/\(.*\)/, '(x)'));

describe('sandbox network namespace', () => {
  it("refuses the host's loopback, own address and private ranges from inside; the allow list opens them", async () => {
    const loop = await listener('0.0.0.0');
    const closed = await openSandboxNetwork({ allow: [] });
    try {
      for (const host of ['127.0.0.1', hostIp, '10.0.2.2', '169.254.169.254', '10.0.2.3']) {
        assert.notEqual(await dialFrom(closed.netnsPath, host, loop.port), 'connected', host);
      }
      assert.equal(loop.connections(), 0);
    } finally {
      await closed.close();
    }
    const open = await openSandboxNetwork({ allow: [`${hostIp}/32`, '127.0.0.0/8'] });
    try {
      assert.equal(await dialFrom(open.netnsPath, hostIp, loop.port), 'connected');
      assert.equal(
        await dialFrom(open.netnsPath, '10.0.2.2', loop.port),
        'connected',
        "allowing 127.0.0.0/8 opens the host's loopback as 10.0.2.2",
      );
      assert.equal(loop.connections(), 2);
    } finally {
      await open.close();
    }
  });

  it('answers DNS on the forwarder, port 53', async () => {
    const network = await openSandboxNetwork({ allow: [] });
    try {
      // A query for "localhost" over TCP to 10.0.2.3:53; any answer (even NXDOMAIN) proves port 53 is open and forwarded.
      const script = `exec 3<>/dev/tcp/${network.dns}/53 && printf '\\x00\\x1b\\x12\\x34\\x01\\x00\\x00\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x09localhost\\x00\\x00\\x01\\x00\\x01' >&3 && timeout 5 head -c 2 <&3 | od -An -tx1`;
      const { stdout } = await promisify(execFile)('nsenter', [`--net=${network.netnsPath}`, 'bash', '-c', script]);
      assert.match(stdout.trim(), /^[0-9a-f]{2} [0-9a-f]{2}$/, 'no DNS answer from the forwarder');
    } finally {
      await network.close();
    }
  });

  it('close() ends the holder and slirp4netns, and so the namespace', async () => {
    const network = await openSandboxNetwork({ allow: [] });
    const pids = network.helperPids;
    assert.equal(pids.length, 2, `expected holder and slirp4netns, got ${pids.join(', ')}`);
    for (const pid of pids) assert.equal(await alive(pid), true);
    assert.match(
      network.netnsPath,
      new RegExp(`^/proc/${process.pid}/fd/\\d+$`),
      'the namespace is held by the platform, not named by a pid that could be reused',
    );
    await network.close();
    assert.equal(network.closed, true);
    for (const pid of pids) assert.equal(await alive(pid), false, `process ${pid} survived close()`);
  });

  it('leaves nothing when the platform is killed with SIGKILL', async () => {
    const script = `import { openSandboxNetwork } from ${JSON.stringify(new URL('../../src/sandbox/network/namespace.ts', import.meta.url).pathname)};
      const n = await openSandboxNetwork({ allow: [] }); console.log(JSON.stringify(n.helperPids)); setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const pids = JSON.parse(
      await new Promise<string>((resolve) => child.stdout.once('data', (d: Buffer) => resolve(d.toString()))),
    ) as number[];
    assert.equal(pids.length, 2);
    for (const pid of pids) assert.equal(await alive(pid), true);
    child.kill('SIGKILL');
    for (let i = 0; i < 100 && (await Promise.all(pids.map(alive))).some(Boolean); i++)
      await new Promise((r) => setTimeout(r, 50));
    for (const pid of pids) assert.equal(await alive(pid), false, `process ${pid} outlived the platform`);
  });
});
