// Group commit for the SQLite store's queue writes (enqueue, queue updates,
// outbox rows). Each write is a few inserts, but its own transaction costs a
// commit (a write of the WAL) and, before it, a wait for the activation records
// written ahead of it (the ordering promise in store.ts). Writes that arrive
// while one group waits for those records join the next group: one wait for
// the records, one transaction, and each write's promise settles only once
// that transaction has committed (a 202 still follows its row on disk). A write
// that fails rolls back alone and rejects alone: a group first runs its writes
// without savepoints (two statements fewer per write), and only when one fails
// runs again from the start, each write in a savepoint of its own.

interface Op {
  run: () => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export class GroupCommit {
  private pending: Op[] = [];
  private tail: Promise<void> = Promise.resolve();

  constructor(
    /** Resolves once every activation record written so far is committed (the writes must land after them). */
    private readonly before: () => Promise<void>,
    /** Runs `fn` in one transaction; nested calls are savepoints (better-sqlite3's db.transaction). */
    private readonly transaction: <T>(fn: () => T) => T,
  ) {}

  /** Runs `run` in the next group's transaction; resolves with its result once that has committed. */
  write<T>(run: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const first = this.pending.push({ run, resolve: resolve as (v: unknown) => void, reject }) === 1;
      // One group at a time: a group's ops are taken when it starts, after the one before has committed
      // and after the rest of this event-loop turn (the requests read with this one join it: a commit
      // writes its pages to the WAL, so fewer, larger groups cost less per write).
      if (first) this.tail = this.tail.then(nextTurn).then(() => this.commit());
    });
  }

  private async commit(): Promise<void> {
    const ops = this.pending;
    this.pending = [];
    let results: { ok: boolean; value: unknown }[] = [];
    try {
      await this.before();
      try {
        results = this.transaction(() => ops.map((op) => ({ ok: true, value: op.run() })));
      } catch {
        // One write failed and the whole group rolled back: again, each write alone in a savepoint.
        results = this.transaction(() =>
          ops.map((op) => {
            try {
              return { ok: true, value: this.transaction(op.run) };
            } catch (e) {
              return { ok: false, value: e };
            }
          }),
        );
      }
    } catch (e) {
      for (const op of ops) op.reject(e);
      return;
    }
    ops.forEach((op, i) => {
      const r = results[i];
      if (r?.ok) op.resolve(r.value);
      else op.reject(r?.value);
    });
  }
}
