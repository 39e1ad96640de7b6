// Activation records written to PostgreSQL in batches (group commit): a record
// joins the batch being gathered, and each batch is one multi-row upsert in
// one commit. A batch starts as soon as the one before it has committed, so
// under load records wait at most about one commit, and idle ones not at all.
// The caller decides whether to wait for the commit: an answered sync call's
// record does not (written behind, as SQLite's worker does in embedded mode),
// every other record does (an async outcome is committed before its queue
// entry moves on). Within a batch the later write of a record wins, and
// batches commit in order, so a write never lands after one that came later.
import { activationRow } from '../rows.ts';
import { activationUpsert } from '../statements.ts';
import type { ActivationRecord } from '../store.ts';

/** Records in one statement at most (6 parameters each, far under PostgreSQL's 65,535). */
export const MAX_BATCH = 500;
/** Records held while the database does not take them; beyond this the oldest are dropped (and logged). */
export const MAX_PENDING = 20_000;

export type Upsert = (sql: string, args: unknown[]) => Promise<unknown>;

export class ActivationBatches {
  private pending = new Map<string, ActivationRecord>();
  /** The batch being written now; the next one starts after it. */
  private writing: Promise<void> = Promise.resolve();
  private scheduled: Promise<void> | undefined;

  constructor(
    private readonly upsert: Upsert,
    private readonly log: (msg: string, extra?: Record<string, unknown>) => void = () => undefined,
  ) {}

  /** Adds a record; the promise resolves once it is committed (or rejects when its batch failed). */
  write(record: ActivationRecord): Promise<void> {
    this.pending.delete(record.id); // the later write of one record wins, in the later batch's order
    this.pending.set(record.id, record);
    if (this.pending.size > MAX_PENDING) {
      const oldest = this.pending.keys().next().value as string;
      this.pending.delete(oldest);
      this.log('dropped an activation record written behind: the database has not taken records for a while', {
        activation: oldest,
      });
    }
    return this.schedule();
  }

  /** Resolves once every record written before this call is committed. */
  flush(): Promise<void> {
    return this.pending.size ? this.schedule() : this.writing;
  }

  private schedule(): Promise<void> {
    this.scheduled ??= this.writing.then(
      () => this.next(),
      () => this.next(),
    );
    return this.scheduled;
  }

  /** Writes what has gathered, MAX_BATCH at a time; a failed batch keeps its records for the next try. */
  private async next(): Promise<void> {
    this.scheduled = undefined;
    const batch = [...this.pending.values()];
    this.pending = new Map();
    const run = (async () => {
      for (let i = 0; i < batch.length; i += MAX_BATCH) {
        const part = batch.slice(i, i + MAX_BATCH);
        try {
          await this.upsert(activationUpsert(part.length), part.flatMap(activationRow));
        } catch (e) {
          // Kept unless written again meanwhile; retried with the next write or flush.
          for (const r of batch.slice(i)) if (!this.pending.has(r.id)) this.pending.set(r.id, r);
          throw e;
        }
      }
    })();
    this.writing = run.catch(() => undefined);
    return run;
  }
}
