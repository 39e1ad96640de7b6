// Reads by key gathered into one statement (PostgreSQL). Under load an invoker
// starts many async runs at once (its queue consumer pulls them in batches),
// and each read alone is a round trip, a parse-free but still whole execution
// in the database, and a pooled connection. So reads that arrive while one
// group is in flight form the next group, read with one `= ANY(array)`
// statement; each caller gets what that statement saw of its key. While reads
// keep coming (a backlog being worked: each run will wait for a sandbox
// anyway), a group also waits up to `lingerMs` for more; a read after a quiet
// spell goes at once, so a lone async call does not wait. A failed statement
// fails every read of its group (the callers retry as they would after one
// failed read).

interface Waiter<V> {
  resolve: (value: V | undefined) => void;
  reject: (error: unknown) => void;
}

export interface ReadGroupOptions {
  /**
   * How long a group waits for more reads when the read before its first came
   * less than this long before it, ms (0: never waits).
   * @default 0
   */
  lingerMs?: number;
}

export class ReadGroups<V> {
  private pending = new Map<string, Waiter<V>[]>();
  private tail: Promise<void> = Promise.resolve();
  /** When the last read was asked (performance.now()). */
  private lastAsked = -Infinity;

  constructor(
    /** Reads these keys in one statement; keys it finds nothing for are absent from the map. */
    private readonly read: (keys: string[]) => Promise<Map<string, V>>,
    private readonly options: ReadGroupOptions = {},
  ) {}

  /** Joins the next group; resolves with what its statement read for `key`. */
  get(key: string): Promise<V | undefined> {
    return new Promise((resolve, reject) => {
      const first = this.pending.size === 0;
      const waiters = this.pending.get(key);
      if (waiters) waiters.push({ resolve, reject });
      else this.pending.set(key, [{ resolve, reject }]);
      const now = performance.now();
      const linger = this.options.lingerMs ?? 0;
      const busy = linger > 0 && now - this.lastAsked < linger;
      this.lastAsked = now;
      // One group at a time: a group takes what has gathered when the one before it has answered.
      if (first) this.tail = this.tail.then(() => (busy ? this.gather(linger) : undefined)).then(() => this.next());
    });
  }

  private gather(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
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
