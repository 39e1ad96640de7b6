// The microVM engine's wall around QEMU, as a guest that escapes device
// emulation would find it (issue 13, probe): the QEMU process of a live
// microVM runs as an unprivileged uid of its own, with no capabilities, no new
// privileges and a seccomp filter that refuses spawning (so no `exec:`
// migration either); the VM's saved state stays root's, unreadable by that uid;
// and a sandbox still starts from a snapshot made that way and still moves to
// a new QEMU (a new uid) with its module state. The built guest image and the
// accelerator choice are reused from the machine cache; the snapshot is made
// fresh, so the save runs under the wall too.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { link, mkdir, readdir, readFile, readlink, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sharedCacheDir } from '../../src/sandbox/microvm/image/shared-cache.ts';
import { MicrovmDriver } from '../../src/sandbox/microvm/driver.ts';
import type { InvokeOutcome, Sandbox } from '../../src/sandbox/driver.ts';
import { bundledAgent } from '../helpers/agent.ts';
import { createTempDir } from '../helpers/temp.ts';

const MINUTE = 60_000;
const hostCache = sharedCacheDir();
const qemuHere = spawnSync('qemu-system-x86_64', ['--version']).status === 0;
const cache = await createTempDir('nimbus-probe-microvm-cache');
const dataDir = await createTempDir('nimbus-probe-microvm-data');
const fnDir = await createTempDir('nimbus-probe-microvm-fn', 0o755);

/** Links what the machine cache already built (images, kernel downloads, accelerator choice) into `to`, never its snapshots. */
async function reuseBuiltImage(from: string, to: string): Promise<void> {
  for (const entry of await readdir(from, { withFileTypes: true, recursive: true }).catch(() => [])) {
    const file = path.join(entry.parentPath, entry.name);
    const relative = path.relative(from, file);
    if (!entry.isFile() || relative.startsWith('snapshots')) continue;
    await mkdir(path.dirname(path.join(to, relative)), { recursive: true });
    await link(file, path.join(to, relative)).catch(() => undefined);
  }
}

function statusOf(pid: number): Promise<Record<string, string>> {
  return readFile(`/proc/${pid}/status`, 'utf8').then((text) =>
    Object.fromEntries(
      text.split('\n').map((line) => [line.split(':')[0] ?? '', line.slice(line.indexOf(':') + 1).trim()]),
    ),
  );
}

function valueOf(outcome: InvokeOutcome): { count: number } {
  assert.ok(
    outcome.ok && outcome.output?.kind === 'value',
    `expected a value, got ${JSON.stringify(outcome).slice(0, 1000)}`,
  );
  return outcome.output.value as { count: number };
}

describe(
  'microvm: QEMU is not root',
  { skip: (process.getuid?.() !== 0 || !qemuHere) && 'needs root and qemu-system-x86_64, as the engine does' },
  () => {
    let driver: MicrovmDriver;
    let sandbox: Sandbox | undefined;

    before(async () => {
      if (hostCache) await reuseBuiltImage(hostCache, cache);
      process.env.NIMBUS_MICROVM_CACHE = cache;
      const artifactPath = path.join(fnDir, 'counter.cjs');
      await writeFile(artifactPath, 'let count = 0; exports.handler = () => ({ count: ++count });');
      driver = new MicrovmDriver({
        dataDir,
        agentPath: await bundledAgent(),
        log: () => undefined,
        egress: { allow: [] },
      });
      sandbox = await driver.create({
        id: `probe-${randomUUID().slice(0, 8)}`,
        functionName: 'probe',
        functionVersion: 1,
        artifactPath,
        artifactSha256: 'probe',
        handler: 'handler',
        memoryMb: 160,
        cpus: 1,
        env: { SECRET: 'in guest memory' },
        network: false,
        resultLimitBytes: 65536,
        logLimitBytes: 65536,
      });
    });
    after(async () => {
      await sandbox?.dispose();
      await driver?.dispose();
    });

    const call = (s: Sandbox) =>
      s.invoke({ activationId: randomUUID(), input: { kind: 'event', event: {} }, timeoutMs: MINUTE });

    it(
      'runs a restored VM as its own uid, with no capabilities, no new privileges, and no way to spawn',
      { timeout: 5 * MINUTE },
      async () => {
        assert.ok(sandbox);
        const details = sandbox.info().details ?? {};
        assert.equal(
          details.start,
          'restore',
          `started from a snapshot made under the wall: ${JSON.stringify(details)}`,
        );
        const pid = Number(details.pid);
        const status = await statusOf(pid);
        const uids = (status.Uid ?? '').split(/\s+/).map(Number);
        assert.equal(uids.length, 4);
        assert.ok(
          uids.every((uid) => uid !== 0 && uid === uids[0]),
          `every uid of QEMU is one unprivileged uid: ${status.Uid}`,
        );
        assert.ok(
          (status.Gid ?? '').split(/\s+/).every((gid) => Number(gid) !== 0),
          `no root gid: ${status.Gid}`,
        );
        assert.ok(!(status.Groups ?? '').split(/\s+/).includes('0'), `no root group: ${status.Groups}`);
        assert.equal(status.CapEff, '0000000000000000');
        assert.equal(status.CapPrm, '0000000000000000');
        assert.equal(status.NoNewPrivs, '1');
        assert.equal(status.Seccomp, '2');
        const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
        const filter = cmdline[cmdline.indexOf('-sandbox') + 1] ?? '';
        assert.match(filter, /^on,/);
        assert.match(filter, /spawn=deny/, `QEMU may not exec: ${filter}`);
        assert.ok(!cmdline.some((arg) => arg.includes('exec:')), 'no exec: migration');
        assert.notEqual(
          await readlink(`/proc/${pid}/ns/mnt`),
          await readlink('/proc/self/ns/mnt'),
          'QEMU has a mount namespace of its own',
        );
        assert.equal(valueOf(await call(sandbox)).count, 1);

        // The saved state (guest memory, agent ready) is root's alone: the VM's uid cannot read it.
        const snapshots = path.join(dataDir, 'images');
        const states = (await readdir(snapshots, { recursive: true }))
          .filter((f) => f.endsWith('.vmstate'))
          .map((f) => path.join(snapshots, f));
        assert.equal(states.length, 1, `one snapshot: ${states}`);
        const state = states[0] as string;
        assert.equal((await stat(state)).mode & 0o077, 0, 'the state file is private');
        const read = spawnSync(
          'setpriv',
          [`--reuid=${uids[0]}`, `--regid=${uids[0]}`, '--clear-groups', '--', 'head', '-c', '1', state],
          { encoding: 'utf8' },
        );
        assert.notEqual(read.status, 0, 'the VM uid cannot open the saved state');
        assert.match(read.stderr, /Permission denied/);
      },
    );

    it('migrates live to a new QEMU under a new uid, keeping module state', { timeout: 5 * MINUTE }, async () => {
      assert.ok(sandbox?.migrate);
      const before = Number(sandbox.info().details?.pid);
      const beforeUid = Number((await statusOf(before)).Uid?.split(/\s+/)[0]);
      assert.equal(valueOf(await call(sandbox)).count, 2);
      const report = await sandbox.migrate();
      const after = Number(report.details?.toPid);
      assert.notEqual(after, before);
      assert.ok(
        !existsSync(`/proc/${before}/status`) ||
          !(await readFile(`/proc/${before}/cmdline`, 'utf8').catch(() => '')).includes('qemu'),
        'the source QEMU is gone',
      );
      const status = await statusOf(after);
      const uid = Number(status.Uid?.split(/\s+/)[0]);
      assert.ok(uid !== 0 && uid !== beforeUid, `the target runs as a uid of its own (${uid}, source ${beforeUid})`);
      assert.equal(status.CapEff, '0000000000000000');
      assert.equal(status.NoNewPrivs, '1');
      assert.equal(status.Seccomp, '2');
      assert.equal(valueOf(await call(sandbox)).count, 3, 'module state moved with the guest');
    });
  },
);
