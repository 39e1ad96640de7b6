// An isolate sandbox created on a pool that died between the lease and the
// create (another sandbox of the same function brought it down) must fail
// as a function crash the caller can read, not throw from inside the engine.
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { after, it } from 'node:test';
import { bundleIsolateGuest } from '../../src/sandbox/isolate/bundle.ts';
import { findBwrap } from '../../src/sandbox/isolate/bwrap.ts';
import { PoolProcess } from '../../src/sandbox/isolate/pool-process.ts';
import { IsolateSandbox } from '../../src/sandbox/isolate/sandbox.ts';
import { isNimbusError } from '../../src/shared/errors.ts';
import { createTempDir } from '../helpers/temp.ts';

const dir = await createTempDir('nimbus-dead-pool', 0o755);
after(() => rm(dir, { recursive: true, force: true }));

it('fails a create on a pool that is already dead with function_crashed', { timeout: 60_000 }, async (t) => {
  const bwrap = findBwrap();
  if (!bwrap) return t.skip('bubblewrap is not installed');
  const pool = await PoolProcess.start(bwrap, await bundleIsolateGuest(path.join(dir, 'build')), () => undefined);
  await pool.kill('killed by the test');
  assert.equal(pool.alive, false);
  const spec = {
    id: 'dead-pool-1',
    functionName: 'dead-pool',
    functionVersion: 1,
    artifactPath: path.join(dir, 'fn.js'),
    artifactSha256: 'x'.repeat(64),
    memoryMb: 64,
    cpus: 1,
    env: {},
    network: false,
    resultLimitBytes: 65536,
    logLimitBytes: 65536,
  };
  const created = IsolateSandbox.create(spec, pool, 'exports.handler = async () => 1;', 5000);
  await assert.rejects(created, (e) => {
    assert.ok(isNimbusError(e), `not a NimbusError: ${(e as Error).stack}`);
    assert.equal(e.code, 'function_crashed');
    assert.match(e.message, /died while loading the function: killed by the test/);
    return true;
  });
});
