// A temporary directory for one cluster test file, removed in an `after` hook
// registered where it was created (a file's top level or a describe body).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after } from 'node:test';

export async function createTempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), `${prefix}-`));
  after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}
