// Isolate shells: a V8 isolate with its memory limit, a context, the pool's
// callbacks and the runtime already run and warmed up, but no function yet.
// Making one costs a few milliseconds (mostly new Isolate), so the pool keeps
// a spare shell per recently used memory size, made off any call's path, and
// a create takes it: what is left is compiling the function (code-cached) and
// loading it. Only trusted runtime code runs in a shell before it is taken.
import { randomBytes } from 'node:crypto';
import type IVM from 'isolated-vm';
import type { CodeCache, CacheUse } from './isolate-code-cache.guest.ts';

export type EntryFn = (op: string, a?: unknown, b?: unknown) => unknown;

/** Who the shell's callbacks reach once it is taken. */
export interface ShellOwner {
  readonly sid: string;
  onWake(ms: number): void;
  onFetch(id: number, json: string): void;
  /** A KV operation of the function (JSON of a KvRequest), for the host to answer. */
  onKv(id: number, json: string): void;
  /** The runtime has live log text to pull. */
  onLive(): void;
}

export interface Shell {
  isolate: IVM.Isolate;
  context: IVM.Context;
  entry: IVM.Reference<EntryFn>;
  memoryMb: number;
  runtimeCache: CacheUse;
  bind(owner: ShellOwner): void;
}

export interface ShellDeps {
  ivm: typeof IVM;
  runtimeCode: string;
  cache: CodeCache;
  /** V8 lost control of a shell's isolate (`sid` of its owner, '' for a spare): the pool must end now. */
  onFatal: (sid: string, message: string) => void;
}

/** Appended to the runtime bundle: its completion value is the entry, which leaves the global scope. */
const TAKE_ENTRY = '\n;(() => { const e = globalThis.__nimbus_entry; delete globalThis.__nimbus_entry; return e; })()';

/** Makes a shell; `warm` runs the runtime's common paths once (worth it for spares, not on a create's path). */
export async function makeShell(deps: ShellDeps, memoryMb: number, warm: boolean): Promise<Shell> {
  const { ivm } = deps;
  let owner: ShellOwner | undefined;
  const isolate = new ivm.Isolate({
    memoryLimit: Math.max(8, memoryMb),
    onCatastrophicError: (message) => deps.onFatal(owner?.sid ?? '', message),
  });
  try {
    const context = await isolate.createContext();
    const jail = context.global;
    await jail.set('__nimbus_wake', new ivm.Callback((ms: number) => owner?.onWake(ms), { ignored: true }));
    await jail.set(
      '__nimbus_random',
      new ivm.Callback((n: number) => new Uint8Array(randomBytes(Math.min(65536, Math.max(1, Number(n) || 1))))),
    );
    await jail.set(
      '__nimbus_fetch',
      new ivm.Callback((id: number, json: string) => owner?.onFetch(id, json), { ignored: true }),
    );
    await jail.set(
      '__nimbus_kv',
      new ivm.Callback((id: number, json: string) => owner?.onKv(id, json), { ignored: true }),
    );
    await jail.set('__nimbus_live', new ivm.Callback(() => owner?.onLive(), { ignored: true }));
    const runtime = await deps.cache.compile(
      isolate,
      'nimbus-runtime',
      deps.runtimeCode + TAKE_ENTRY,
      'nimbus:runtime.js',
    );
    const entry = (await runtime.script.run(context, {
      reference: true,
      timeout: 5000,
    })) as unknown as IVM.Reference<EntryFn>;
    runtime.script.release();
    if (warm) await entry.apply(undefined, ['warmup'], { timeout: 5000, result: { promise: true } });
    return { isolate, context, entry, memoryMb, runtimeCache: runtime.cache, bind: (o) => void (owner = o) };
  } catch (e) {
    if (!isolate.isDisposed) isolate.dispose();
    throw e;
  }
}

const REFILL_DELAY_MS = 50;

/** One spare shell per recently used memory size (a handful of sizes at most). */
export class Spares {
  private readonly ready = new Map<number, Shell>();
  private readonly making = new Set<number>();
  private readonly recent: number[] = [];

  constructor(
    private readonly deps: ShellDeps,
    private readonly maxSizes = 4,
  ) {}

  /** A shell for this memory size: the spare when there is one, else a new one. Call replenish() after. */
  async take(memoryMb: number): Promise<{ shell: Shell; spare: boolean }> {
    this.touch(memoryMb);
    const spare = this.ready.get(memoryMb);
    this.ready.delete(memoryMb);
    if (spare) return { shell: spare, spare: true };
    return { shell: await makeShell(this.deps, memoryMb, false), spare: false };
  }

  /**
   * Makes the next spare for this size a little after the create that took one has answered:
   * new Isolate() runs on the pool's main thread for a few milliseconds, and the warm-up takes CPU,
   * which must sit neither on that create's path nor on the first call that usually follows it.
   */
  replenish(memoryMb: number): void {
    setTimeout(() => this.refill(memoryMb), REFILL_DELAY_MS);
  }

  private touch(memoryMb: number): void {
    const at = this.recent.indexOf(memoryMb);
    if (at >= 0) this.recent.splice(at, 1);
    this.recent.unshift(memoryMb);
    for (const old of this.recent.splice(this.maxSizes)) {
      const shell = this.ready.get(old);
      this.ready.delete(old);
      if (shell && !shell.isolate.isDisposed) shell.isolate.dispose();
    }
  }

  private refill(memoryMb: number): void {
    if (this.ready.has(memoryMb) || this.making.has(memoryMb) || !this.recent.includes(memoryMb)) return;
    this.making.add(memoryMb);
    makeShell(this.deps, memoryMb, true).then(
      (shell) => {
        this.making.delete(memoryMb);
        if (this.recent.includes(memoryMb) && !this.ready.has(memoryMb)) this.ready.set(memoryMb, shell);
        else shell.isolate.dispose();
      },
      (e: Error) => {
        this.making.delete(memoryMb);
        process.stderr.write(`could not make a spare isolate: ${e.message}\n`);
      },
    );
  }

  get size(): number {
    return this.ready.size;
  }
}
