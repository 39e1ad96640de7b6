// The invoker's local artifact cache: bundled function code on disk, named by
// its sha256, fetched from the store on first use. A cached file is hashed
// again each time a sandbox is created from it (cold starts only, never a warm
// call): a file that no longer matches its name (overwritten on disk) is logged,
// replaced by the store's copy, and never given to a sandbox.
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Store } from '../storage/store.ts';
import { NimbusError } from '../shared/errors.ts';

export type ArtifactLog = (level: 'warn', msg: string, extra: Record<string, unknown>) => void;

const sha256Of = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

export class ArtifactCache {
  private readonly inflight = new Map<string, Promise<string>>();

  constructor(
    private readonly dir: string,
    private readonly store: Store,
    private readonly log: ArtifactLog = () => undefined,
  ) {}

  /** Path of the artifact's file, verified against its sha256 now; fetched again when missing or altered. */
  path(sha256: string): Promise<string> {
    let p = this.inflight.get(sha256);
    if (!p) {
      p = this.ensure(sha256).finally(() => this.inflight.delete(sha256));
      this.inflight.set(sha256, p);
    }
    return p;
  }

  private async ensure(sha256: string): Promise<string> {
    const file = path.join(this.dir, `${sha256}.cjs`);
    const cached = await readFile(file).catch(() => undefined);
    if (cached) {
      const actual = sha256Of(cached);
      if (actual === sha256) return file;
      this.log(
        'warn',
        'a cached artifact does not match its sha256 (altered on disk): fetching it again from the store',
        { file, expected: sha256, actual },
      );
      await rm(file, { force: true });
    }
    const bytes = await this.store.getArtifact(sha256);
    if (!bytes) throw new NimbusError('not_found', `artifact ${sha256} is missing from the store`);
    const actual = sha256Of(bytes);
    if (actual !== sha256)
      throw new NimbusError('internal', `artifact ${sha256} is corrupt in the store (sha256 ${actual})`);
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
    // Owner-only and read-only: sandboxes get the code from the drivers (a copy, a mount or an fd), never from this directory.
    await writeFile(tmp, bytes, { mode: 0o400 });
    await rename(tmp, file);
    return file;
  }
}
