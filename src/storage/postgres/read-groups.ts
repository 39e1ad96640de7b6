// Reads by key gathered into one statement (PostgreSQL). Under load an invoker
// starts many async runs at once (its queue consumer pulls them in batches),
// and each read alone is a round trip, a parse-free but still whole execution
// in the database, and a pooled connection. So reads that arrive while one
// group is in flight form the next group, read with one `= ANY(array)`
// statement; each caller gets what that statement saw of its key. A failed
// statement fails every read of its group (the callers retry as they would
// after one failed read).

interface Waiter<V> {
  resolve: (value: V | undefined) => void;
  reject: (error: unknown) => void;
}

export class ReadGroups<V> {
  private pending = new Map<string, Waiter<V>[]>();
  private tail: Promise<void> = Promise.resolve();

  constructor(
    /** Reads these keys in one statement; keys it finds nothing for are absent from the map. */
    private readonly read: (keys: string[]) => Promise<Map<string, V>>,
  ) {}

  /** Joins the next group; resolves with what its statement read for `key`. */
  get(key: string): Promise<V | undefined> {
    return new Promise((resolve, reject) => {
      const first = this.pending.size === 0;
      const waiters = this.pending.get(key);
      if (waiters) waiters.push({ resolve, reject });
      else this.pending.set(key, [{ resolve, reject }]);
      // One group at a time: a group takes what has gathered when the one before it has answered.
      if (first) this.tail = this.tail.then(() => this.next());
    });
  }

  private async next(): Promise<void> {
    const group = this.pending;
    this.pending = new Map();
    try {
      const found = await this.read([...group.keys()]);
      for (const [key, waiters] of group) for (const w of waiters) w.resolve(found.get(key));
    } catch (e) {
      for (const waiters of group.values()) for (const w of waiters) w.reject(e);
    }
  }
}
