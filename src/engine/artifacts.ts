// The invoker's local artifact cache: bundled function code on disk, named by
// its sha256, fetched from the store on first use and verified.
import { createHash } from 'node:crypto';
import { mkdir, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Store } from '../storage/store.ts';
import { NimbusError } from '../shared/errors.ts';

export class ArtifactCache {
  private readonly inflight = new Map<string, Promise<string>>();

  constructor(private readonly dir: string, private readonly store: Store) {}

  /** Path of the artifact's file, fetching it when missing. */
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
    try {
      await stat(file);
      return file;
    } catch {
      /* fetch it */
    }
    const bytes = await this.store.getArtifact(sha256);
    if (!bytes) throw new NimbusError('not_found', `artifact ${sha256} is missing from the store`);
    const actual = createHash('sha256').update(bytes).digest('hex');
    if (actual !== sha256) throw new NimbusError('internal', `artifact ${sha256} is corrupt in the store (sha256 ${actual})`);
    await mkdir(this.dir, { recursive: true });
    const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
    await writeFile(tmp, bytes, { mode: 0o444 });
    await rename(tmp, file);
    return file;
  }
}
