// Write-behind batching for SQLite: writes queue up and are committed together
// in one transaction, a few milliseconds later or as soon as anything else
// touches the database. On this kind of disk a commit costs far more than an
// insert (each commit appends every touched page to the WAL), so one commit
// per hundred records instead of one per record is most of the cost of
// recording activations. The owner flushes before every other write and
// every read of the same table, so reads see every queued write and the file
// only ever holds a prefix of the writes, in order: a crash loses at most the
// last few milliseconds, never a write that came before one it kept.
export interface WriteBehindOptions {
  /** Longest a write waits before it is committed. */
  delayMs: number;
  /** A batch this large is committed at once. */
  maxItems: number;
  /** Told when a timed commit fails (its records are lost). */
  onError: (error: unknown, lost: number) => void;
}

export class WriteBehind<T> {
  private batch = new Map<string, T>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly commit: (items: T[]) => void,
    private readonly options: WriteBehindOptions,
  ) {}

  /** Queues `item` under `key` (a later write of the same key replaces it). */
  write(key: string, item: T): void {
    this.batch.delete(key); // re-inserting keeps the map in the order of the writes
    this.batch.set(key, item);
    if (this.batch.size >= this.options.maxItems) return this.flushTimed();
    this.timer ??= setTimeout(() => this.flushTimed(), this.options.delayMs);
  }

  /** Commits what is queued now; throws if the commit fails. */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.batch.size === 0) return;
    const items = [...this.batch.values()];
    this.batch = new Map();
    this.commit(items);
  }

  private flushTimed(): void {
    const lost = this.batch.size;
    try {
      this.flush();
    } catch (e) {
      this.options.onError(e, lost);
    }
  }
}
