// Writes activation records behind, from a worker thread. Records queue up and
// go to the worker together, within a few milliseconds or as soon as the store
// needs them on disk (before any other write, before reading activations); the
// worker commits each batch in one transaction on its own connection. On this
// kind of disk a commit costs far more than an insert, and a WAL checkpoint
// fsyncs, so batching and moving both off the request thread is most of what
// recording an activation costs. Batches commit in the order they were made,
// so the file only ever holds a prefix of the writes: a crash loses at most
// the last few milliseconds, never a record that came before one it kept.
import { Worker } from 'node:worker_threads';
import type { ActivationRecord } from '../store.ts';
import { activationRow, type ActivationRow } from './activation-rows.ts';

export interface ActivationWriterOptions {
  /** Longest a record waits before it goes to the worker. */
  delayMs: number;
  /** A batch this large goes at once. */
  maxItems: number;
  /** Told when a batch could not be committed (its records are lost). */
  onError: (error: Error, lost: number) => void;
}

export interface WriterRequest {
  seq: number;
  rows: ActivationRow[];
}
export interface WriterReply {
  seq: number;
  error?: string;
}

const WORKER = new URL('./activation-writer.worker.ts', import.meta.url).href;
/** Workers do not inherit the TypeScript loader: the worker registers it, then loads the real module. */
const BOOT = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((tsx) => { tsx.register(); return import(${JSON.stringify(WORKER)}); })`;

export class ActivationWriter {
  private batch = new Map<string, ActivationRecord>();
  private timer: NodeJS.Timeout | undefined;
  private worker: Worker | undefined;
  private seq = 0;
  /** Batches sent and not yet answered, by sequence number (the worker answers in order). */
  private readonly inFlight = new Map<number, { lost: number; done: Promise<void>; settle: (error?: Error) => void }>();

  constructor(private readonly file: string, private readonly options: ActivationWriterOptions) {}

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

  private send(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    // Nothing queued: wait for the newest batch still in flight (a failed batch already answered is not waited on again).
    if (this.batch.size === 0) return this.inFlight.get(this.seq)?.done ?? Promise.resolve();
    const rows = [...this.batch.values()].map(activationRow);
    this.batch = new Map();
    const seq = ++this.seq;
    let settle: (error?: Error) => void = () => undefined;
    const done = new Promise<void>((resolve, reject) => {
      settle = (error) => (error ? reject(error) : resolve());
    });
    this.inFlight.set(seq, { lost: rows.length, done, settle });
    const worker = this.started();
    worker.ref(); // a batch in flight keeps the process alive until it is committed
    worker.postMessage({ seq, rows } satisfies WriterRequest);
    return done;
  }

  private started(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(BOOT, { eval: true, workerData: { file: this.file } });
    worker.on('message', (reply: WriterReply) => this.settle(reply.seq, reply.error === undefined ? undefined : new Error(reply.error)));
    worker.on('error', (e) => this.failAll(e));
    worker.on('exit', (code) => this.failAll(new Error(`the activation writer thread exited (code ${code})`)));
    this.worker = worker;
    return worker;
  }

  private settle(seq: number, error?: Error): void {
    const batch = this.inFlight.get(seq);
    if (!batch) return;
    this.inFlight.delete(seq);
    if (this.inFlight.size === 0) this.worker?.unref();
    if (error) this.options.onError(error, batch.lost);
    batch.settle(error);
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
