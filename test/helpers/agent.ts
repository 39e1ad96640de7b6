// The guest runtime agent for tests: bundled once into a build directory that
// all test files share (the bundle is named by a hash of its sources, and
// written atomically, so parallel test files can ask for it at the same time).
import { tmpdir } from 'node:os';
import path from 'node:path';
import { bundleGuest } from '../../src/sandbox/agent-bundle.ts';

/** Where test runs keep built guest code; stale builds are harmless (hash-named). */
export const SHARED_BUILD_DIR = path.join(tmpdir(), 'nimbus-test-build');

let agent: Promise<string> | undefined;

/** Path of the bundled guest agent (agent-<hash>.cjs), built on first use. */
export function bundledAgent(): Promise<string> {
  agent ??= bundleGuest(SHARED_BUILD_DIR);
  return agent;
}
