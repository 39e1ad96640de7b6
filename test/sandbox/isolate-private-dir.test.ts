// The isolate pool runs as an unprivileged uid, yet its bundles live in the
// platform's data directory, which may sit under a private (0700) directory
// such as root's home. Root starts bubblewrap and binds them, the uid is
// dropped inside: the engine must work there (it did not when bubblewrap was
// started as the uid itself: the pool exited before it was ready).
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, it } from 'node:test';
import { bundleIsolateGuest } from '../../src/sandbox/isolate/bundle.ts';
import { findBwrap } from '../../src/sandbox/isolate/bwrap.ts';
import { PoolProcess } from '../../src/sandbox/isolate/pool-process.ts';
import { IsolateSandbox } from '../../src/sandbox/isolate/sandbox.ts';

// mkdtemp makes the directory 0700, as a home directory is.
const dir = await mkdtemp(path.join(os.tmpdir(), 'nimbus-private-'));
after(() => rm(dir, { recursive: true, force: true }));

it(
  'runs isolate functions from a data directory under a private directory, as an unprivileged uid',
  { timeout: 60_000 },
  async (t) => {
    const bwrap = findBwrap();
    if (!bwrap) return t.skip('bubblewrap is not installed');
    if (process.getuid?.() !== 0)
      return t.skip('the pool drops to a uid of its own only when the platform runs as root');
    assert.equal((await stat(dir)).mode & 0o777, 0o700);
    const pool = await PoolProcess.start(
      bwrap,
      await bundleIsolateGuest(path.join(dir, '.nimbus', 'build')),
      () => undefined,
    );
    try {
      const spec = {
        id: 'private-dir-1',
        functionName: 'private-dir',
        functionVersion: 1,
        artifactPath: path.join(dir, 'fn.js'),
        artifactSha256: 'p'.repeat(64),
        memoryMb: 64,
        cpus: 1,
        env: {},
        network: false,
        resultLimitBytes: 65536,
        logLimitBytes: 65536,
      };
      const sandbox = await IsolateSandbox.create(
        spec,
        pool,
        'exports.handler = async (e) => ({ hi: e.name });',
        10_000,
      );
      const outcome = await sandbox.invoke({
        activationId: 'a1',
        input: { kind: 'event', event: { name: 'x' } },
        timeoutMs: 5000,
      });
      assert.equal(outcome.ok, true, JSON.stringify(outcome));
      assert.deepEqual(outcome.output?.kind === 'value' ? outcome.output.value : outcome.output, { hi: 'x' });
      await sandbox.dispose();
    } finally {
      await pool.kill('test over');
    }
  },
);
