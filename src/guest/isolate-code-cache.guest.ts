// V8's code cache for the pool: the first isolate that compiles a script
// (the runtime, or a function by its artifact sha256) produces cached data;
// later isolates compile from it instead of parsing again. Bounded, least
// recently used first out; data V8 rejects is dropped and made again.
import type IVM from 'isolated-vm';

export type CacheUse = 'hit' | 'miss' | 'rejected';

export class CodeCache {
  private readonly entries = new Map<string, IVM.ExternalCopy<ArrayBuffer>>();

  constructor(private readonly maxEntries = 128) {}

  async compile(
    isolate: IVM.Isolate,
    key: string,
    code: string,
    filename: string,
  ): Promise<{ script: IVM.Script; cache: CacheUse }> {
    const cachedData = this.entries.get(key);
    if (cachedData) {
      const script = await isolate.compileScript(code, { filename, cachedData });
      this.entries.delete(key);
      if (!(script as IVM.Script & { cachedDataRejected?: boolean }).cachedDataRejected) {
        this.entries.set(key, cachedData);
        return { script, cache: 'hit' };
      }
      cachedData.release();
      this.remember(key, await this.produce(isolate, code, filename));
      return { script, cache: 'rejected' };
    }
    const script = await isolate.compileScript(code, { filename, produceCachedData: true });
    this.remember(key, (script as IVM.Script & IVM.CachedDataResult).cachedData);
    return { script, cache: 'miss' };
  }

  private async produce(
    isolate: IVM.Isolate,
    code: string,
    filename: string,
  ): Promise<IVM.ExternalCopy<ArrayBuffer> | undefined> {
    const script = await isolate.compileScript(code, { filename, produceCachedData: true });
    const data = (script as IVM.Script & IVM.CachedDataResult).cachedData;
    script.release();
    return data;
  }

  private remember(key: string, data: IVM.ExternalCopy<ArrayBuffer> | undefined): void {
    if (!data) return;
    this.entries.set(key, data);
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.get(oldest)?.release();
      this.entries.delete(oldest);
    }
  }

  get size(): number {
    return this.entries.size;
  }
}
