// Writes activation records behind, from a worker thread. Records queue up and
// go to the worker together, within a few milliseconds or as soon as the store
// needs them on disk (before any other write, before reading activations); the
// worker commits each batch in one transaction on its own connection. On this
// kind of disk a commit costs far more than an insert, and a WAL checkpoint
// fsyncs, so batching and moving both off the request thread is most of what
// recording an activation costs. Batches commit in the order they were made,
// so the file only ever holds a prefix of the writes: a crash loses at most
// the last few milliseconds, never a record that came before one it kept.
// Retention's reads and deletes run here too (retentionDb), one short step per
// message, so they queue between batches of records instead of competing with
// them for the file's write lock or holding up the request thread.
import { Worker } from 'node:worker_threads';
import type { RetentionDb } from '../retention.ts';
import type { ActivationRecord } from '../store.ts';
import { activationRow, type ActivationRow } from '../rows.ts';

export interface ActivationWriterOptions {
  /** Longest a record waits before it goes to the worker. */
  delayMs: number;
  /** A batch this large goes at once. */
  maxItems: number;
  /** Told when a batch could not be committed (its records are lost). */
  onError: (error: Error, lost: number) => void;
}

/** A batch of records, or one retention step: a read (`all`), deletes in one transaction (`write`), or `vacuum` pages given back. */
export type WriterBody =
  | { rows: ActivationRow[] }
  | { all: { sql: string; args: unknown[] } }
  | { write: { sql: string; args: unknown[] }[] }
  | { vacuum: number };
export type WriterRequest = { seq: number } & WriterBody;
export interface WriterReply {
  seq: number;
  error?: string;
  result?: unknown;
}

const WORKER = new URL('./activation-writer.worker.ts', import.meta.url).href;
/** Workers do not inherit the TypeScript loader: the worker registers it, then loads the real module. */
const BOOT = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((tsx) => { tsx.register(); return import(${JSON.stringify(WORKER)}); })`;

export class ActivationWriter {
  private batch = new Map<string, ActivationRecord>();
  private timer: NodeJS.Timeout | undefined;
  private worker: Worker | undefined;
  private seq = 0;
  /** The newest batch of records sent (retention steps in between are not waited on by flush). */
  private lastBatch = 0;
  /** Batches sent and not yet answered, by sequence number (the worker answers in order). */
  private readonly inFlight = new Map<
    number,
    { lost: number; done: Promise<unknown>; settle: (error?: Error, result?: unknown) => void }
  >();

  constructor(
    private readonly file: string,
    private readonly options: ActivationWriterOptions,
  ) {}

  /** Queues a record (a later write of the same id replaces it). */
  write(record: ActivationRecord): void {
    this.batch.delete(record.id); // re-inserting keeps the map in the order of the writes
    this.batch.set(record.id, record);
    if (this.batch.size >= this.options.maxItems) return void this.send().catch(() => undefined);
    this.timer ??= setTimeout(() => void this.send().catch(() => undefined), this.options.delayMs);
  }

  /** Resolves once every record queued so far is committed; rejects if its batch failed. */
  async flush(): Promise<void> {
    await this.send();
  }

  private async send(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    // Nothing queued: wait for the newest batch still in flight (a failed batch already answered is not waited on again).
    if (this.batch.size === 0) return void (await this.inFlight.get(this.lastBatch)?.done);
    const rows = [...this.batch.values()].map(activationRow);
    this.batch = new Map();
    const done = this.post({ rows }, rows.length);
    this.lastBatch = this.seq;
    await done;
  }

  /** Sends one request to the worker; resolves with its answer, in the order sent. */
  private post(request: WriterBody, lost = 0): Promise<unknown> {
    const seq = ++this.seq;
    let settle: (error?: Error, result?: unknown) => void = () => undefined;
    const done = new Promise<unknown>((resolve, reject) => {
      settle = (error, result) => (error ? reject(error) : resolve(result));
    });
    this.inFlight.set(seq, { lost, done, settle });
    const worker = this.started();
    worker.ref(); // a batch in flight keeps the process alive until it is committed
    worker.postMessage({ seq, ...request } as WriterRequest);
    return done;
  }

  /** Retention's statements, run by the worker after the records queued before them. */
  retentionDb(): RetentionDb {
    return {
      all: async <R>(sql: string, args: unknown[]) => {
        await this.send();
        return (await this.post({ all: { sql, args } })) as R[];
      },
      write: async (statements) => {
        await this.send();
        return (await this.post({ write: statements })) as number[];
      },
    };
  }

  /** Gives up to `pages` free pages back to the file system (auto_vacuum = INCREMENTAL files); returns the pages left free. */
  async vacuum(pages: number): Promise<number> {
    await this.send();
    return (await this.post({ vacuum: pages })) as number;
  }

  private started(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(BOOT, { eval: true, workerData: { file: this.file } });
    worker.on('message', (reply: WriterReply) =>
      this.settle(reply.seq, reply.error === undefined ? undefined : new Error(reply.error), reply.result),
    );
    worker.on('error', (e) => this.failAll(e));
    worker.on('exit', (code) => this.failAll(new Error(`the activation writer thread exited (code ${code})`)));
    this.worker = worker;
    return worker;
  }

  private settle(seq: number, error?: Error, result?: unknown): void {
    const batch = this.inFlight.get(seq);
    if (!batch) return;
    this.inFlight.delete(seq);
    if (this.inFlight.size === 0) this.worker?.unref();
    if (error && batch.lost > 0) this.options.onError(error, batch.lost);
    batch.settle(error, result);
  }

  private failAll(error: Error): void {
    this.worker = undefined;
    for (const seq of [...this.inFlight.keys()]) this.settle(seq, error);
  }

  /** Commits what is queued and stops the worker. */
  async close(): Promise<void> {
    try {
      await this.flush();
    } finally {
      const worker = this.worker;
      this.worker = undefined;
      await worker?.terminate();
    }
  }
}
