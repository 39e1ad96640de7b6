// One sandbox's isolate inside the pool: a shell (isolate with its memory
// limit, context, runtime) taken from the spares, the function compiled with
// V8's code cache and loaded; calls run concurrently with one wall-clock
// deadline each (past it the isolate is disposed, which stops whatever it
// runs); timers and fetches bridged to the pool. Everything the isolate hands
// back is untrusted and checked here.
import type IVM from 'isolated-vm';
import {
  RuntimeFetch,
  RuntimeInit,
  RuntimeLive,
  PoolEventType,
  type PoolCommandOf,
  type PoolCommandType,
  type PoolEvent,
  type HeapStats,
} from './isolate-protocol.ts';
import type { GuestError } from './protocol.ts';
import { KvRequest } from './kv-protocol.ts';
import { checkAnswer, failure, type ResultEvent } from './isolate-answer.guest.ts';
import type { CodeCache } from './isolate-code-cache.guest.ts';
import type { EntryFn, ShellOwner, Spares } from './isolate-shell.guest.ts';
import { LIVE_FLUSH_MS, LiveBatcher } from './live-log.guest.ts';

type CreateCommand = PoolCommandOf<typeof PoolCommandType.Create>;

export interface PoolEnv {
  spares: Spares;
  cache: CodeCache;
  send: (e: PoolEvent) => void;
  /** Called once when the isolate is gone (loaded or not). */
  onGone: (box: PoolIsolate, loaded: boolean) => void;
}

interface Call {
  deadline: number;
  timer: NodeJS.Timeout;
  finish: (e: ResultEvent) => void;
}

const MB = 1024 * 1024;
const MAX_FETCHES = 16;
const HEAP_SAMPLE_MS = 100;

export class PoolIsolate implements ShellOwner {
  readonly sid: string;
  readonly ready: Promise<boolean>;
  private isolate: IVM.Isolate | undefined;
  private entry: IVM.Reference<EntryFn> | undefined;
  private readonly calls = new Map<string, Call>();
  private wake: { at: number; timer: NodeJS.Timeout } | undefined;
  private gone: { code: string; reason: string; culprit?: string } | undefined;
  private loaded = false;
  private fetches = 0;
  private heap: HeapStats | undefined;
  private heapAt = 0;
  /** Running calls' live log lines, cut and capped here (the runtime's side is in the function's reach). */
  private readonly live: LiveBatcher;
  private livePull: NodeJS.Timeout | undefined;

  constructor(
    private readonly c: CreateCommand,
    private readonly env: PoolEnv,
  ) {
    this.sid = c.sid;
    this.live = new LiveBatcher(c.logLimitBytes, (id, lines) =>
      env.send({ type: PoolEventType.Log, sid: c.sid, id, lines }),
    );
    this.ready = this.start();
  }

  private async start(): Promise<boolean> {
    const started = performance.now();
    const loadTimer = setTimeout(
      () => this.end('timeout', `the function did not load within ${this.c.initTimeoutMs} ms`),
      this.c.initTimeoutMs,
    );
    try {
      const { style, logs, codeCache, spare } = await this.load();
      this.loaded = true;
      this.env.send({
        type: PoolEventType.Created,
        sid: this.sid,
        style,
        initMs: performance.now() - started,
        codeCache,
        spare,
        logs,
      });
      return true;
    } catch (e) {
      const { error, logs } = this.loadError(e);
      this.end(error.code, error.message);
      this.env.send({ type: PoolEventType.CreateError, sid: this.sid, error, logs });
      return false;
    } finally {
      clearTimeout(loadTimer);
      this.env.spares.replenish(this.c.memoryMb);
    }
  }

  private async load(): Promise<{
    style: string;
    logs: string;
    codeCache: 'hit' | 'miss' | 'rejected';
    spare: boolean;
  }> {
    const c = this.c;
    const { shell, spare } = await this.env.spares.take(c.memoryMb);
    if (this.gone) {
      shell.isolate.dispose();
      throw new Error(this.gone.reason);
    }
    this.isolate = shell.isolate;
    this.entry = shell.entry;
    shell.bind(this);
    // Node's CommonJS wrapper, on the same line as the code so that its line numbers stay right.
    const wrapped = `(function (exports, require, module, __filename, __dirname) {${c.code}\n})`;
    const fn = await this.env.cache.compile(shell.isolate, c.codeKey, wrapped, 'file:///function.js');
    const factory = (await fn.script.run(shell.context, { reference: true })) as unknown as IVM.Reference<unknown>;
    fn.script.release();
    const config = {
      handler: c.handler,
      functionName: c.functionName,
      functionVersion: c.functionVersion,
      memoryMb: c.memoryMb,
      env: c.env,
      network: c.network,
      resultLimitBytes: c.resultLimitBytes,
      logLimitBytes: c.logLimitBytes,
    };
    const json = await shell.entry.apply(undefined, ['init', factory.derefInto(), JSON.stringify(config)]);
    factory.release();
    const init = typeof json === 'string' ? RuntimeInit.safeParse(JSON.parse(json)) : undefined;
    if (!init?.success) throw new Error('the runtime answered init with something malformed');
    const logs = init.data.logs.slice(0, c.logLimitBytes + 200);
    if (!init.data.ok || !init.data.style)
      throw Object.assign(new Error(init.data.error?.message ?? 'init failed'), { guest: init.data.error, logs });
    return { style: init.data.style, logs, codeCache: fn.cache, spare };
  }

  private loadError(e: unknown): { error: GuestError; logs: string } {
    const err = e as Error & { guest?: GuestError; logs?: string };
    const logs = err.logs ?? '';
    if (this.gone?.code === 'timeout') return { error: { code: 'timeout', message: this.gone.reason }, logs };
    if (this.gone)
      return {
        error: { code: 'function_crashed', message: `the isolate ended while loading: ${this.gone.reason}` },
        logs,
      };
    if (this.isolate?.isDisposed || /memory limit/i.test(err.message))
      return {
        error: {
          code: 'memory_exhausted',
          message: `the function ran out of memory while loading (limit ${this.c.memoryMb} MB); raise memoryMb`,
        },
        logs,
      };
    if (err.guest)
      return {
        error: {
          code: 'function_error',
          message: `function failed to load: ${err.guest.message}`,
          stack: err.guest.stack,
        },
        logs,
      };
    return {
      error: { code: 'function_error', message: `function failed to load: ${err.message}`, stack: err.stack },
      logs,
    };
  }

  invoke(c: PoolCommandOf<typeof PoolCommandType.Invoke>): void {
    const entry = this.entry;
    if (this.gone || !entry || !this.loaded)
      return this.env.send(
        failure(this.sid, c.id, {
          code: 'function_crashed',
          message: `the isolate is gone: ${this.gone?.reason ?? 'not loaded'}`,
        }),
      );
    const call: Call = {
      deadline: c.deadline,
      timer: setTimeout(
        () => this.end('timeout', `call ${c.id} ran past its deadline`, c.id),
        Math.max(0, c.deadline - Date.now()),
      ),
      finish: (event) => {
        if (this.calls.get(c.id) !== call) return;
        clearTimeout(call.timer);
        this.calls.delete(c.id);
        this.live.close(c.id);
        this.env.send(event);
      },
    };
    this.calls.set(c.id, call);
    this.live.open(c.id);
    entry
      .apply(undefined, ['invoke', JSON.stringify({ id: c.id, input: c.input, deadline: c.deadline })], {
        result: { promise: true },
      })
      .then(
        (json) => {
          const { event, memory } = checkAnswer(this.sid, c.id, json, this.c, this.heap, (tail) =>
            this.live.write(c.id, tail),
          );
          if (memory) this.end('memory_exhausted', event.error?.message ?? 'out of memory');
          call.finish(event);
          void this.sampleHeap();
        },
        (e: Error) => {
          this.onEntryError(e);
          call.finish(failure(this.sid, c.id, { code: 'function_error', message: `the isolate failed: ${e.message}` }));
        },
      );
  }

  /** What a call gets when the isolate ends under it. */
  private errorFor(id: string): GuestError {
    const gone = this.gone ?? { code: 'function_crashed', reason: 'the isolate is gone' };
    if (gone.code === 'timeout' && gone.culprit === id)
      return { code: 'timeout', message: `function timed out (${gone.reason})` };
    if (gone.code === 'timeout')
      return {
        code: 'function_crashed',
        message: `the isolate was stopped because another call in it timed out (${gone.culprit})`,
      };
    if (gone.code === 'memory_exhausted')
      return { code: 'memory_exhausted', message: `${gone.reason}; raise memoryMb or use less memory` };
    return { code: 'function_crashed', message: `the isolate ended: ${gone.reason}` };
  }

  /** A failed entry into the isolate: a disposal by isolated-vm means the memory limit was hit. */
  private onEntryError(e: Error): void {
    if (!this.gone && (this.isolate?.isDisposed || /memory limit/i.test(e.message)))
      this.end('memory_exhausted', `the isolate went over its ${this.c.memoryMb} MB memory limit`);
  }

  /** Ends the isolate once: calls in flight fail, timers stop, the isolate is disposed. */
  end(code: string, reason: string, culprit?: string): void {
    if (this.gone) return;
    this.gone = { code, reason, culprit };
    clearTimeout(this.wake?.timer);
    clearTimeout(this.livePull);
    for (const [id, call] of this.calls) call.finish(failure(this.sid, id, this.errorFor(id)));
    this.entry?.release();
    if (this.isolate && !this.isolate.isDisposed) this.isolate.dispose();
    this.env.onGone(this, this.loaded);
    if (this.loaded && code !== 'disposed') this.env.send({ type: PoolEventType.Dead, sid: this.sid, code, reason });
  }

  onWake(ms: number): void {
    if (this.gone) return;
    const delay = Math.max(0, Number(ms) || 0);
    const at = Date.now() + delay;
    if (this.wake && this.wake.at <= at) return;
    clearTimeout(this.wake?.timer);
    this.wake = { at, timer: setTimeout(() => this.tick(), delay) };
  }

  private tick(): void {
    this.wake = undefined;
    if (this.gone || !this.entry) return;
    this.entry.apply(undefined, ['tick']).then(
      (next) => typeof next === 'number' && next >= 0 && this.onWake(next),
      (e: Error) => this.onEntryError(e),
    );
  }

  /** The runtime has live log text: pulled a little later, so that one pull carries many writes. */
  onLive(): void {
    if (this.gone || this.livePull) return;
    this.livePull = setTimeout(() => this.pullLive(), LIVE_FLUSH_MS);
  }

  private pullLive(): void {
    this.livePull = undefined;
    if (this.gone || !this.entry) return;
    this.entry.apply(undefined, ['live']).then(
      (json) => {
        let parsed: ReturnType<typeof RuntimeLive.safeParse> | undefined;
        try {
          parsed = RuntimeLive.safeParse(JSON.parse(String(json)));
        } catch {
          return;
        }
        if (!parsed.success) return;
        for (const [id, text] of parsed.data) if (this.calls.has(id)) this.live.write(id, text);
        this.live.flush();
      },
      (e: Error) => this.onEntryError(e),
    );
  }

  onFetch(id: number, json: string): void {
    if (this.gone) return;
    let parsed: ReturnType<typeof RuntimeFetch.safeParse> | undefined;
    try {
      parsed = RuntimeFetch.safeParse(JSON.parse(String(json)));
    } catch {
      /* answered below */
    }
    if (!parsed?.success || !this.c.network) return this.deliver(id, { error: 'the fetch request was malformed' });
    if (this.fetches >= MAX_FETCHES) return this.deliver(id, { error: `more than ${MAX_FETCHES} fetches at once` });
    this.fetches++;
    this.env.send({
      type: PoolEventType.Fetch,
      sid: this.sid,
      fetchId: id,
      request: parsed.data.request,
      deadline: parsed.data.deadline,
    });
  }

  fetched(c: PoolCommandOf<typeof PoolCommandType.Fetched>): void {
    this.fetches = Math.max(0, this.fetches - 1);
    this.deliver(c.fetchId, { response: c.response, error: c.error });
  }

  /** A KV operation, checked (the isolate is untrusted) and passed to the host, which knows whose store it is. */
  onKv(id: number, json: string): void {
    if (this.gone) return;
    let parsed: ReturnType<typeof KvRequest.safeParse> | undefined;
    try {
      parsed = KvRequest.safeParse(JSON.parse(String(json)));
    } catch {
      /* answered below */
    }
    if (!parsed?.success) return this.kvAnswered(id, { ok: false, error: 'the KV request was malformed' });
    this.env.send({ type: PoolEventType.Kv, sid: this.sid, kvId: id, request: parsed.data });
  }

  kvAnswered(id: number, answer: unknown): void {
    if (this.gone || !this.entry) return;
    this.entry.apply(undefined, ['kv', id, JSON.stringify(answer)]).catch((e: Error) => this.onEntryError(e));
  }

  private deliver(id: number, answer: { response?: unknown; error?: string }): void {
    if (this.gone || !this.entry) return;
    this.entry.apply(undefined, ['fetched', id, JSON.stringify(answer)]).catch((e: Error) => this.onEntryError(e));
  }

  async stats(): Promise<HeapStats | undefined> {
    if (this.gone || !this.isolate) return undefined;
    try {
      const h = await this.isolate.getHeapStatistics();
      return {
        usedMb: h.used_heap_size / MB,
        totalMb: h.total_heap_size / MB,
        externalMb: h.externally_allocated_size / MB,
        limitMb: h.heap_size_limit / MB,
      };
    } catch {
      return undefined;
    }
  }

  private async sampleHeap(): Promise<void> {
    if (Date.now() - this.heapAt < HEAP_SAMPLE_MS) return;
    this.heapAt = Date.now();
    this.heap = (await this.stats()) ?? this.heap;
  }
}
