// The sandbox spec and log of driver-level microVM tests: the smallest VM a
// function may ask for (160 MB, one CPU), no network, a fresh sandbox id.
import { randomUUID } from 'node:crypto';
import type { SandboxSpec } from '../../src/sandbox/driver.ts';

type Named = Pick<SandboxSpec, 'functionName' | 'artifactPath' | 'artifactSha256'> & Partial<SandboxSpec>;

/** A spec for `fields`' function (version 1, handler `handler`, no env unless given). */
export function microvmSpec(fields: Named): SandboxSpec {
  return {
    id: `mvt-${randomUUID().slice(0, 8)}`,
    functionVersion: 1,
    handler: 'handler',
    memoryMb: 160,
    cpus: 1,
    env: {},
    network: false,
    resultLimitBytes: 1024 * 1024,
    logLimitBytes: 64 * 1024,
    ...fields,
  };
}

/** The driver's log: errors always, the rest with NIMBUS_TEST_LOG set. */
export function microvmTestLog(level: string, msg: string): void {
  if (process.env.NIMBUS_TEST_LOG || level === 'error') console.error(`[microvm ${level}] ${msg}`);
}
