// The microvm engine against real QEMU (TCG on hosts whose KVM cannot boot a
// guest): the guest image is built (twice, to show it is reproducible), the
// accelerator probed by a real boot, and sandboxes booted, restored from a
// snapshot, migrated, resized, timed out, run out of memory and disposed.
// The whole file uses its own machine cache, so every step really happens.
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { open, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ensureMicrovmImage, type MicrovmImage } from '../../src/sandbox/microvm/image/build.ts';
import { MicrovmDriver } from '../../src/sandbox/microvm/driver.ts';
import type { InvokeOutcome, Sandbox, SandboxSpec } from '../../src/sandbox/driver.ts';
import { bundledAgent } from '../helpers/agent.ts';
import { createTempDir } from '../helpers/temp.ts';

const machineCache = await createTempDir('nimbus-microvm-cache', 0o755);
process.env.NIMBUS_MICROVM_CACHE = machineCache;
const dataDir = await createTempDir('nimbus-microvm-data', 0o755);
const functionsDir = await createTempDir('nimbus-microvm-functions', 0o755);
const MINUTE = 60_000;

const FUNCTION_SOURCE = `
const fs = require('fs');
const net = require('net');
let count = 0;
const memTotalMb = () => Number(/MemTotal:\\s+(\\d+)/.exec(fs.readFileSync('/proc/meminfo', 'utf8'))[1]) / 1024;
exports.hello = (event) => ({ hello: event.name, count: ++count, now: Date.now(), memTotalMb: memTotalMb(), interfaces: fs.readdirSync('/sys/class/net').sort() });
exports.spin = () => { for (;;) {} };
exports.hog = () => { const keep = []; for (;;) keep.push(Array.from({ length: 100000 }, (_, i) => ({ i, s: 'item ' + i }))); };
exports.buffers = () => { const keep = []; for (;;) keep.push(Buffer.alloc(4 * 1024 * 1024, 1)); };
exports.dial = (event) => new Promise((resolve, reject) => {
  const socket = net.connect(event.port, '10.0.2.2');
  let text = '';
  socket.on('data', (c) => (text += c));
  socket.on('end', () => resolve(text));
  socket.on('error', reject);
});
`;

async function qemuProcessesOf(sandboxId: string): Promise<number[]> {
  const pids: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const cmdline = await readFile(`/proc/${name}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.startsWith('qemu-system') && cmdline.includes(`nimbus-${sandboxId}`)) pids.push(Number(name));
  }
  return pids;
}

async function sha256(file: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(file))
    .digest('hex');
}

async function head(file: string, offset: number, length: number): Promise<Buffer> {
  const fh = await open(file);
  const buffer = Buffer.alloc(length);
  await fh.read(buffer, 0, length, offset);
  await fh.close();
  return buffer;
}

interface Hello {
  hello: string;
  count: number;
  now: number;
  memTotalMb: number;
  interfaces: string[];
}

function valueOf<T>(outcome: InvokeOutcome): T {
  assert.ok(
    outcome.ok && outcome.output?.kind === 'value',
    `expected a value, got ${JSON.stringify(outcome).slice(0, 1500)}`,
  );
  return outcome.output.value as T;
}

describe('microvm engine (real QEMU)', () => {
  let artifactPath = '';
  let agentPath = '';
  let image: MicrovmImage;
  const drivers: MicrovmDriver[] = [];
  const sandboxes: Sandbox[] = [];
  const log = (level: string, msg: string) => {
    if (process.env.NIMBUS_TEST_LOG || level === 'warn' || level === 'error')
      console.error(`[microvm ${level}] ${msg}`);
  };
  // Function snapshots off: these tests time and check the machine-state restore (microvm-snapshots.test.ts has them).
  const newDriver = (options: { snapshots?: boolean } = {}) => {
    const driver = new MicrovmDriver(
      { dataDir, agentPath, log, egress: { allow: [] } },
      { functionSnapshots: false, ...options },
    );
    drivers.push(driver);
    return driver;
  };
  const spec = (handler: string, overrides: Partial<SandboxSpec> = {}): SandboxSpec => ({
    id: `mvm-${randomUUID().slice(0, 8)}`,
    functionName: 'microvm-test',
    functionVersion: 1,
    artifactPath,
    artifactSha256: 'test',
    handler,
    memoryMb: 160,
    cpus: 1,
    env: { GREETING: 'hi' },
    network: false,
    resultLimitBytes: 1024 * 1024,
    logLimitBytes: 64 * 1024,
    ...overrides,
  });
  const create = async (driver: MicrovmDriver, s: SandboxSpec) => {
    const sandbox = await driver.create(s);
    sandboxes.push(sandbox);
    return sandbox;
  };
  const call = (sandbox: Sandbox, event: unknown, timeoutMs = MINUTE) =>
    sandbox.invoke({ activationId: randomUUID(), input: { kind: 'event', event }, timeoutMs });

  before(async () => {
    agentPath = await bundledAgent();
    artifactPath = path.join(functionsDir, 'microvm-fixture.cjs');
    await writeFile(artifactPath, FUNCTION_SOURCE);
  });
  after(async () => {
    await Promise.all(sandboxes.map((s) => s.dispose()));
    await Promise.all(drivers.map((d) => d.dispose()));
  });

  it("builds the guest image from Debian's kernel, reproducibly", { timeout: 10 * MINUTE }, async (t) => {
    const progress: string[] = [];
    image = await ensureMicrovmImage(dataDir, (m) => progress.push(m), { agentPath });
    assert.match(progress.join('\n'), /fetching linux-image-[\d.]+-\d+-amd64/);
    assert.ok(image.dir.startsWith(path.join(dataDir, 'images', image.hash)));
    assert.deepEqual(await head(image.vmlinux, 0, 4), Buffer.from([0x7f, 0x45, 0x4c, 0x46]), 'vmlinux is an ELF file');
    assert.equal((await head(image.initrd, 0, 6)).toString('ascii'), '070701', 'the initramfs is a newc cpio archive');
    assert.equal((await head(image.runtimeDisk, 1080, 2)).readUInt16LE(0), 0xef53, 'the runtime disk is ext2/3/4');
    assert.ok(
      image.modules.base.indexOf('virtio') < image.modules.base.indexOf('virtio_mmio'),
      'dependencies load first',
    );
    // A second build in another data directory, not from the machine cache, gives the same bytes.
    await rm(path.join(machineCache, 'images', image.hash), { recursive: true });
    const otherDataDir = path.join(dataDir, 'second-build');
    const again = await ensureMicrovmImage(otherDataDir, () => undefined, { agentPath });
    assert.equal(again.hash, image.hash);
    for (const file of ['vmlinux', 'initrd.cpio', 'runtime.ext4']) {
      assert.equal(
        await sha256(path.join(again.dir, file)),
        await sha256(path.join(image.dir, file)),
        `${file} differs between two builds`,
      );
    }
    await rm(otherDataDir, { recursive: true });
    t.diagnostic(progress.join(' | '));
  });

  it('probes the accelerator with a real boot and says which it uses and why', { timeout: 5 * MINUTE }, async (t) => {
    const availability = await newDriver().probe();
    assert.equal(availability.available, true, availability.reason);
    const accelerator = availability.details?.accelerator;
    assert.ok(accelerator === 'kvm' || accelerator === 'tcg');
    assert.ok(String(availability.details?.acceleratorReason).length > 10);
    if (accelerator === 'tcg' && existsSync('/dev/kvm') && !process.env.NIMBUS_MICROVM_ACCEL) {
      assert.match(availability.reason, /KVM could not boot a guest/);
    }
    t.diagnostic(availability.reason);
  });

  let bootMs = 0;
  it(
    'boots a function from the kernel: it answers, with guest memory = memoryMb and no network card',
    { timeout: 5 * MINUTE },
    async (t) => {
      const sandbox = await create(newDriver({ snapshots: false }), spec('hello'));
      const details = sandbox.info().details;
      assert.equal(details.start, 'boot');
      bootMs = Number(details.startMs);
      const before = Date.now();
      const value = valueOf<Hello>(await call(sandbox, { name: 'vm' }));
      assert.equal(value.hello, 'vm');
      assert.equal(value.count, 1);
      assert.ok(
        value.memTotalMb <= 160 && value.memTotalMb > 40,
        `guest MemTotal ${value.memTotalMb} MB for memoryMb 160`,
      );
      assert.deepEqual(value.interfaces, ['lo']);
      assert.ok(Math.abs(value.now - before) < 5000, `guest clock off by ${value.now - before} ms`);
      t.diagnostic(
        `boot to ready agent ${bootMs} ms, create ${details.createMs} ms, accelerator ${details.accelerator}`,
      );
    },
  );

  it(
    'restores from a snapshot faster than a boot, with its clock set, and answers',
    { timeout: 5 * MINUTE },
    async (t) => {
      const driver = newDriver();
      const first = await create(driver, spec('hello'));
      assert.equal(first.info().details.start, 'restore');
      const second = await create(driver, spec('hello'));
      const details = second.info().details;
      assert.equal(details.start, 'restore');
      assert.equal(details.guestClockSet, true);
      const restoreMs = Number(details.startMs);
      assert.ok(restoreMs < bootMs, `restore took ${restoreMs} ms, boot ${bootMs} ms`);
      const started = Date.now();
      const value = valueOf<Hello>(await call(second, { name: 'restored' }));
      const warmStarted = Date.now();
      valueOf<Hello>(await call(second, { name: 'warm' }));
      const warmMs = Date.now() - warmStarted;
      assert.equal(value.hello, 'restored');
      assert.equal(value.count, 1, 'a restored sandbox starts with fresh module state');
      assert.ok(Math.abs(value.now - started) < 1500, `restored guest clock off by ${value.now - started} ms`);
      valueOf<Hello>(await call(first, { name: 'first' }));
      t.diagnostic(
        `restore to ready agent ${restoreMs} ms vs boot ${bootMs} ms; create ${details.createMs} ms; warm invoke ${warmMs} ms; QEMU RSS ${String(second.info().details.qemuRssMb)} MB`,
      );
    },
  );

  it(
    "gives a network card only to functions that ask, whose user network does not reach the host's loopback",
    { timeout: 5 * MINUTE },
    async () => {
      const server = net.createServer((socket) => socket.end('hello from the host'));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      try {
        const port = (server.address() as net.AddressInfo).port;
        const sandbox = await create(newDriver(), spec('dial', { network: true }));
        // QEMU runs in the sandbox's own network namespace: its 10.0.2.2 is that namespace's loopback, not the host's (test/hostile/egress.test.ts has the rest).
        const dialed = await call(sandbox, { port });
        assert.equal(
          dialed.ok,
          false,
          `a function with network reached the host's loopback: ${JSON.stringify(dialed.output)}`,
        );
        assert.match(String(dialed.error?.message), /ECONNREFUSED|ECONNRESET|EHOSTUNREACH/);
        const offline = await create(newDriver(), spec('dial'));
        const outcome = await call(offline, { port });
        assert.equal(outcome.ok, false, 'a function without network reached the host');
      } finally {
        server.close();
      }
    },
  );

  it('migrates a warm sandbox to a new QEMU process, keeping module state', { timeout: 5 * MINUTE }, async (t) => {
    const sandbox = await create(newDriver(), spec('hello'));
    assert.equal(valueOf<Hello>(await call(sandbox, { name: 'a' })).count, 1);
    assert.equal(valueOf<Hello>(await call(sandbox, { name: 'b' })).count, 2);
    const oldPid = sandbox.info().details.pid as number;
    assert.ok(sandbox.migrate);
    const report = await sandbox.migrate();
    const newPid = sandbox.info().details.pid as number;
    assert.notEqual(newPid, oldPid);
    assert.equal(existsSync(`/proc/${oldPid}`), false, 'the source QEMU still runs');
    assert.deepEqual(await qemuProcessesOf(sandbox.id), [newPid]);
    assert.equal(valueOf<Hello>(await call(sandbox, { name: 'c' })).count, 3, 'module state continues after the move');
    assert.ok(report.downtimeMs !== undefined && report.downtimeMs <= report.totalMs);
    t.diagnostic(`migration ${report.totalMs} ms, downtime ${report.downtimeMs} ms, ${JSON.stringify(report.details)}`);
  });

  it('resizes guest memory through the balloon and reports before and after', { timeout: 5 * MINUTE }, async (t) => {
    const sandbox = await create(newDriver(), spec('hello'));
    const small = valueOf<Hello>(await call(sandbox, { name: 'small' })).memTotalMb;
    assert.ok(sandbox.resize);
    const grown = await sandbox.resize({ memoryMb: 288 });
    assert.deepEqual([grown.before.memoryMb, grown.after.memoryMb], [160, 288]);
    assert.equal(sandbox.info().memoryMb, 288);
    const large = valueOf<Hello>(await call(sandbox, { name: 'large' })).memTotalMb;
    assert.ok(large - small > 80, `guest MemTotal went from ${small} to ${large} MB`);
    const shrunk = await sandbox.resize({ memoryMb: 144 });
    assert.deepEqual([shrunk.before.memoryMb, shrunk.after.memoryMb], [288, 144]);
    await assert.rejects(sandbox.resize({ memoryMb: 4096 }), /outside what the balloon can give/);
    assert.equal(valueOf<Hello>(await call(sandbox, { name: 'after' })).count, 3);
    t.diagnostic(`guest MemTotal ${small.toFixed(0)} → ${large.toFixed(0)} MB; ${JSON.stringify(grown.details)}`);
  });

  it('kills the VM on a timeout and leaves no QEMU process', { timeout: 5 * MINUTE }, async () => {
    const sandbox = await create(newDriver(), spec('spin'));
    const pid = sandbox.info().details.pid as number;
    const outcome = await call(sandbox, {}, 2000);
    assert.equal(outcome.error?.code, 'timeout');
    assert.equal(sandbox.state, 'dead');
    await sandbox.dispose();
    assert.equal(existsSync(`/proc/${pid}`), false);
    assert.deepEqual(await qemuProcessesOf(sandbox.id), []);
  });

  it(
    'reports a guest out of memory as memory_exhausted: V8 heap limit and guest kernel OOM killer',
    { timeout: 5 * MINUTE },
    async () => {
      const driver = newDriver();
      // Objects on V8's heap: V8 stops at its limit, set below the guest's RAM.
      const heap = await create(driver, spec('hog'));
      const heapOutcome = await call(heap, {}, 3 * MINUTE);
      assert.equal(heapOutcome.error?.code, 'memory_exhausted', JSON.stringify(heapOutcome).slice(0, 1000));
      assert.match(String(heap.info().details.deathReason), /V8 heap limit/);
      // Buffers outside V8's heap: the guest kernel runs out of RAM and kills node.
      const native = await create(driver, spec('buffers'));
      const nativeOutcome = await call(native, {}, 3 * MINUTE);
      assert.equal(nativeOutcome.error?.code, 'memory_exhausted', JSON.stringify(nativeOutcome).slice(0, 1000));
      assert.match(String(native.info().details.deathReason), /killed for going over its memory limit/);
      assert.equal(native.state, 'dead');
    },
  );

  it('dispose leaves nothing: no QEMU process, no run directory', { timeout: 5 * MINUTE }, async () => {
    const driver = newDriver();
    const sandbox = await create(driver, spec('hello'));
    valueOf<Hello>(await call(sandbox, { name: 'x' }));
    const runRoots = (await readdir(tmpdir()))
      .filter((n) => n.startsWith('nimbus-microvm-'))
      .map((n) => path.join(tmpdir(), n));
    const mine = async () =>
      (await Promise.all(runRoots.map((r) => readdir(r).catch(() => [] as string[]))))
        .flat()
        .filter((n) => n.startsWith(sandbox.id));
    assert.equal((await mine()).length, 1, 'the sandbox has a run directory while it lives');
    await sandbox.dispose();
    assert.equal(sandbox.state, 'dead');
    assert.deepEqual(await qemuProcessesOf(sandbox.id), []);
    assert.deepEqual(await mine(), []);
    await assert.rejects(call(sandbox, {}));
    await driver.dispose();
  });

  it(
    'cleans up the QEMU processes and run directories that a killed platform left',
    { timeout: 5 * MINUTE },
    async () => {
      const abandoned = await create(newDriver(), spec('hello'));
      const pid = abandoned.info().details.pid as number;
      const died = new Promise<string>((resolve) => abandoned.onDeath(resolve));
      await newDriver().cleanupLeftovers(); // a new platform on the same data dir
      // The killed QEMU is this test process's child: it is gone from /proc once reaped, which the sandbox notices.
      assert.match(await died, /exited|closed/);
      assert.equal(existsSync(`/proc/${pid}`), false, 'the left QEMU still runs');
      assert.deepEqual(await qemuProcessesOf(abandoned.id), []);
    },
  );
});
