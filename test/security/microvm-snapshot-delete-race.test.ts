// Attacker's check of microVM function snapshots (issue 18): a function
// snapshot holds the function's memory, its secrets included, so it must not
// outlive the function. A call that is starting a sandbox when the function
// is deleted (a microVM takes seconds to load) must not leave a snapshot
// behind: the snapshot would be made after the delete removed the files.
import assert from 'node:assert/strict';
import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MicrovmDriver } from '../../src/sandbox/microvm/driver.ts';
import { functionTag } from '../../src/sandbox/microvm/function-snapshots.ts';
import type { Sandbox } from '../../src/sandbox/driver.ts';
import { microvmSpec, microvmTestLog } from '../helpers/microvm-spec.ts';
import { bundledAgent } from '../helpers/agent.ts';
import { createTempDir } from '../helpers/temp.ts';

const MINUTE = 60_000;
const dataDir = await createTempDir('nimbus-sec-snaprace-data', 0o755);
const functionsDir = await createTempDir('nimbus-sec-snaprace-fn', 0o755);
const NAME = 'team-sec/raced';

describe('microvm function snapshots: a delete while a sandbox starts (real QEMU)', () => {
  let driver: MicrovmDriver;
  let artifactPath = '';
  const sandboxes: Sandbox[] = [];
  const spec = () =>
    microvmSpec({
      functionName: NAME,
      artifactPath,
      artifactSha256: 'raced-v1',
      env: { SECRET: 'must-not-stay-on-disk' },
    });
  const snapshotsOfIt = async () =>
    (await readdir(path.join(dataDir, 'microvm', 'function-snapshots')).catch(() => [] as string[])).filter((f) =>
      f.startsWith(`${functionTag(NAME)}-`),
    );

  before(async () => {
    artifactPath = path.join(functionsDir, 'raced.cjs');
    await writeFile(artifactPath, 'exports.handler = () => ({ secret: process.env.SECRET });');
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

  it('makes no snapshot of a function deleted while its sandbox loaded', { timeout: 15 * MINUTE }, async () => {
    const starting = driver.create(spec());
    await driver.forgetFunction(NAME);
    sandboxes.push(await starting);
    await driver.functionSnapshotsSettled();
    assert.deepEqual(await snapshotsOfIt(), [], 'a snapshot of the deleted function stayed on disk');
    // A sandbox started after the delete (the function made again) still gets its snapshot.
    sandboxes.push(await driver.create(spec()));
    await driver.functionSnapshotsSettled();
    assert.equal((await snapshotsOfIt()).length, 2, 'the function made again has its .ram and .vmstate');
  });
});
