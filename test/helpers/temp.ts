// Temporary directories for tests, removed by an `after` hook of the suite
// (or file) that asked for them, so that every run cleans up what it made.
import { after } from 'node:test';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

/**
 * Creates a fresh directory under the OS temp dir now, and registers its
 * removal with `after` at the current level: call it at a test file's top
 * level or in a `describe` body, not inside a test or hook, and at top level
 * before the tests that use it are declared (with top-level await, a file's
 * `after` hooks run once the tests declared so far are done). The directory is
 * private (0700) unless `mode` says otherwise, e.g. 0o755 for one that code
 * running as another user (a sandbox) must be able to pass through.
 */
export async function createTempDir(prefix: string, mode = 0o700): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), `${prefix.replace(/[^\w.-]/g, '-')}-`));
  if (mode !== 0o700) await chmod(dir, mode);
  after(() => rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 }));
  return dir;
}
