// microVM function snapshots and standby (issue 18) against real QEMU: a
// sandbox restored from a function snapshot has its module state from init,
// two restores of one snapshot run independently (and draw different random
// values), a new version misses the snapshot, deleting the function deletes
// its files; an idle sandbox past a short keep-alive goes to standby (saved
// and stopped) and the next call resumes it with its counter intact.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MicrovmDriver } from '../../src/sandbox/microvm/driver.ts';
import { FunctionPool } from '../../src/engine/pool.ts';
import type { InvokeOutcome, Sandbox, SandboxSpec } from '../../src/sandbox/driver.ts';
import { microvmSpec, microvmTestLog } from '../helpers/microvm-spec.ts';
import { bundledAgent } from '../helpers/agent.ts';
import { createTempDir } from '../helpers/temp.ts';

const MINUTE = 60_000;
const dataDir = await createTempDir('nimbus-mvm-snap-data', 0o755);
const functionsDir = await createTempDir('nimbus-mvm-snap-fn', 0o755);

// Module state set during init: a token drawn once, a table built once.
const SOURCE = `
const crypto = require('crypto');
const initToken = crypto.randomBytes(8).toString('hex');
const table = Array.from({ length: 1000 }, (_, i) => i * 2);
let count = 0;
exports.handler = () => ({
  count: ++count,
  initToken,
  tableSum: table.reduce((a, b) => a + b, 0),
  random: Math.random(),
  uuid: crypto.randomUUID(),
  bytes: crypto.randomBytes(8).toString('hex'),
  now: Date.now(),
});
`;

interface Answer {
  count: number;
  initToken: string;
  tableSum: number;
  random: number;
  uuid: string;
  bytes: string;
  now: number;
}

function valueOf(outcome: InvokeOutcome): Answer {
  assert.ok(outcome.ok && outcome.output?.kind === 'value', JSON.stringify(outcome).slice(0, 1500));
  return outcome.output.value as Answer;
}

const call = async (sandbox: Sandbox) =>
  valueOf(await sandbox.invoke({ activationId: randomUUID(), input: { kind: 'event', event: {} }, timeoutMs: MINUTE }));

async function filesIn(dir: string): Promise<string[]> {
  return (await readdir(dir).catch(() => [] as string[])).sort();
}

describe('microvm function snapshots and standby (real QEMU)', () => {
  let driver: MicrovmDriver;
  let artifactPath = '';
  const sandboxes: Sandbox[] = [];
  const spec = (overrides: Partial<SandboxSpec> = {}) =>
    microvmSpec({
      functionName: 'team-a/snapper',
      artifactPath,
      artifactSha256: 'v1',
      env: { SECRET: 'in-memory' },
      ...overrides,
    });
  const create = async (s: SandboxSpec) => {
    const sandbox = await driver.create(s);
    sandboxes.push(sandbox);
    return sandbox;
  };
  const snapshotDir = () => path.join(dataDir, 'microvm', 'function-snapshots');
  const standbyDir = () => path.join(dataDir, 'microvm', 'standby');

  before(async () => {
    artifactPath = path.join(functionsDir, 'snapper.cjs');
    await writeFile(artifactPath, SOURCE);
    driver = new MicrovmDriver({
      dataDir,
      agentPath: await bundledAgent(),
      log: microvmTestLog,
      egress: { allow: [] },
    });
  });
  after(async () => {
    await Promise.all(sandboxes.map((s) => s.dispose()));
    await driver.dispose();
  });

  it(
    'restores later cold starts from the function snapshot, module state from init included',
    { timeout: 10 * MINUTE },
    async () => {
      const first = await create(spec());
      assert.notEqual(first.info().details.start, 'function-snapshot');
      assert.equal((await call(first)).count, 1);
      await driver.functionSnapshotsSettled();
      const files = await filesIn(snapshotDir());
      assert.equal(files.length, 2, `a .ram and a .vmstate: ${files.join(', ')}`);
      assert.equal((await stat(snapshotDir())).mode & 0o777, 0o700);
      for (const f of files) assert.equal((await stat(path.join(snapshotDir(), f))).mode & 0o777, 0o600, f);
      const vmstate = files.find((f) => f.endsWith('.vmstate')) ?? '';
      const ram = files.find((f) => f.endsWith('.ram')) ?? '';
      // x-ignore-shared: the state holds devices, the RAM is the other file.
      assert.ok((await stat(path.join(snapshotDir(), vmstate))).size < 8 * 1024 * 1024, 'the vmstate carries no RAM');
      assert.ok((await stat(path.join(snapshotDir(), ram))).size >= 320 * 1024 * 1024, 'the RAM file is the guest RAM');

      // Two restores of one snapshot at once: each has init's state, and its own.
      const [b, c] = await Promise.all([create(spec()), create(spec())]);
      assert.equal(b.info().details.start, 'function-snapshot');
      assert.equal(c.info().details.start, 'function-snapshot');
      const b1 = await call(b);
      const b2 = await call(b);
      const b3 = await call(b);
      const c1 = await call(c);
      assert.deepEqual(
        [b1.count, b2.count, b3.count, c1.count],
        [1, 2, 3, 1],
        'a counter in one does not move the other',
      );
      assert.equal(b1.initToken, c1.initToken, 'module state set during init is the snapshot’s');
      assert.equal(b1.tableSum, 999_000);
      assert.notEqual(b1.random, c1.random, 'Math.random is reseeded on each restore');
      assert.notEqual(b1.uuid, c1.uuid, 'randomUUID is reseeded on each restore');
      assert.notEqual(b1.bytes, c1.bytes, 'randomBytes is reseeded on each restore');
      assert.ok(Math.abs(b1.now - Date.now()) < 30_000, 'the restored guest’s clock is set');
      // A VM restored with x-ignore-shared migrates in full to a QEMU with its own RAM.
      await b.migrate?.();
      assert.equal((await call(b)).count, 4, 'module state survives a live migration after a restore');
    },
  );

  it('misses the snapshot after a redeploy (new version and code)', { timeout: 10 * MINUTE }, async () => {
    const next = await create(spec({ functionVersion: 2, artifactSha256: 'v2' }));
    assert.notEqual(next.info().details.start, 'function-snapshot');
    const changedEnv = await create(spec({ env: { SECRET: 'rotated' } }));
    assert.notEqual(changedEnv.info().details.start, 'function-snapshot', 'a changed secret misses it too');
    await driver.functionSnapshotsSettled();
    assert.equal((await filesIn(snapshotDir())).length, 6, 'one snapshot per version and environment');
  });

  it(
    'puts an idle sandbox past keep-alive in standby and resumes it with its counter',
    { timeout: 10 * MINUTE },
    async () => {
      let started = 0;
      const pool = new FunctionPool(
        'team-a/snapper@1',
        async () => {
          started++;
          return create(spec());
        },
        { concurrency: 1, minSandboxes: 0, maxSandboxes: 1, waitQueueLimit: 10, keepAliveMs: 300, standby: true },
      );
      try {
        const run = async () => {
          const lease = await pool.acquire();
          try {
            return await call(lease.sandbox);
          } finally {
            pool.release(lease);
          }
        };
        assert.equal((await run()).count, 1);
        assert.equal((await run()).count, 2);
        const id = pool.sandboxes()[0]?.sandbox.id;
        for (let i = 0; i < 600 && pool.standbySandboxes().length === 0; i++)
          await new Promise((r) => setTimeout(r, 100));
        const [standby] = pool.standbySandboxes();
        assert.ok(standby, 'the sandbox went to standby');
        assert.equal(standby.id, id);
        assert.equal(pool.size, 0, 'no sandbox runs');
        assert.ok(standby.diskBytes > 0);
        const saved = await filesIn(standbyDir());
        assert.equal(saved.length, 1);
        assert.equal((await stat(path.join(standbyDir(), saved[0] ?? ''))).mode & 0o777, 0o600);
        const resumed = await run();
        assert.equal(resumed.count, 3, 'the counter survived standby');
        assert.equal(started, 1, 'resumed, not started again');
        assert.equal(pool.sandboxes()[0]?.sandbox.id, id, 'the same sandbox id');
        assert.equal(pool.sandboxes()[0]?.sandbox.info().details.start, 'standby');
        assert.deepEqual(await filesIn(standbyDir()), [], 'the saved state is deleted once resumed');
        // Standby again, then the function goes: its saved state goes with the pool.
        for (let i = 0; i < 600 && pool.standbySandboxes().length === 0; i++)
          await new Promise((r) => setTimeout(r, 100));
        assert.equal((await filesIn(standbyDir())).length, 1);
      } finally {
        await pool.close();
      }
      assert.deepEqual(await filesIn(standbyDir()), []);
    },
  );

  it('deletes the function’s snapshots when it is deleted, and only its own', { timeout: 10 * MINUTE }, async () => {
    const other = await create(spec({ functionName: 'team-b/other' }));
    await call(other);
    await driver.functionSnapshotsSettled();
    assert.equal((await filesIn(snapshotDir())).length, 8);
    await driver.forgetFunction('team-a/snapper');
    const left = await filesIn(snapshotDir());
    assert.equal(left.length, 2, `only team-b/other's snapshot stays: ${left.join(', ')}`);
  });
});

describe('microvm engine stopped while a function snapshot is being made (real QEMU)', () => {
  it('leaves no QEMU and no half-made snapshot behind', { timeout: 10 * MINUTE }, async () => {
    const ownData = await createTempDir('nimbus-mvm-snap-stop', 0o755);
    const artifactPath = path.join(functionsDir, 'stopper.cjs');
    await writeFile(artifactPath, SOURCE);
    const driver = new MicrovmDriver({
      dataDir: ownData,
      agentPath: await bundledAgent(),
      log: microvmTestLog,
      egress: { allow: [] },
    });
    const sandbox = await driver.create(
      microvmSpec({ functionName: 'team-c/stopper', artifactPath, artifactSha256: 'v1' }),
    );
    assert.equal((await call(sandbox)).count, 1);
    // The first load started the function snapshot's own VM in the background; stop the engine under it.
    await driver.dispose();
    const qemus: string[] = [];
    for (const pid of await readdir('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      const cmd = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
      if (cmd.includes(ownData)) qemus.push(`${pid}: ${cmd.replaceAll('\0', ' ').slice(0, 200)}`);
    }
    assert.deepEqual(qemus, [], 'a process of the stopped engine still runs');
    const left = (await filesIn(path.join(ownData, 'microvm', 'function-snapshots'))).filter((f) => f.endsWith('.tmp'));
    assert.deepEqual(left, [], 'a half-made snapshot file stayed');
  });
});
