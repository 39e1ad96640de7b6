// A process driver with one function on disk, for tests that drive a
// FunctionPool with real sandboxes: registers its own set-up and clean-up
// hooks in the calling suite and hands out a `start` that creates a sandbox.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before } from 'node:test';
import { bundleGuest } from '../../src/sandbox/agent-bundle.ts';
import type { Sandbox } from '../../src/sandbox/driver.ts';
import { ProcessDriver } from '../../src/sandbox/process/driver.ts';

export function processSandboxes(prefix: string, code: string): { start: () => Promise<Sandbox> } {
  let dir = '';
  let artifactPath = '';
  let driver: ProcessDriver | undefined;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), prefix));
    artifactPath = path.join(dir, 'fn.cjs');
    await writeFile(artifactPath, code);
    driver = new ProcessDriver({
      dataDir: dir,
      agentPath: await bundleGuest(path.join(dir, 'build')),
      log: () => undefined,
      egress: { allow: [] },
    });
  });
  after(async () => {
    await driver?.dispose();
    await rm(dir, { recursive: true, force: true });
  });
  const start = () => {
    if (!driver) throw new Error('processSandboxes: start() before the suite set up');
    return driver.create({
      id: randomUUID(),
      functionName: 'f',
      functionVersion: 1,
      artifactPath,
      artifactSha256: 'x',
      memoryMb: 128,
      cpus: 1,
      env: {},
      network: false,
      resultLimitBytes: 1e6,
      logLimitBytes: 1e6,
    });
  };
  return { start };
}
