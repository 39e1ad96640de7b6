// Who fires cron ticks. Embedded, the one process does. In a cluster every
// front end runs a ticker but only the holder of a PostgreSQL advisory lock
// fires: a session-level lock on a connection of its own, so that when the
// leader dies (kill -9 closes its socket) PostgreSQL drops the lock at once and
// the next front end to try, within a second, takes over. A leader whose
// connection fails its heartbeat gives the lead up before anyone can take it.
import pg from 'pg';

export interface Leadership {
  isLeader(): boolean;
  close(): Promise<void>;
}

/** Embedded: a single process, always the leader. */
export const soleLeader: Leadership = { isLeader: () => true, close: async () => undefined };

/** Key of the advisory lock the cron leader holds (any constant unique to nimbus; see postgres/store.ts for the others). */
const CRON_LEADER_LOCK = 7_316_221_017;
/** How often a follower tries for the lock and a leader checks its connection. */
export const LEADER_POLL_MS = 1000;

type Log = (level: 'info' | 'warn', msg: string) => void;

export class PgLeadership implements Leadership {
  private client?: pg.Client;
  private leader = false;
  private timer?: NodeJS.Timeout;
  private closed = false;
  private polling?: Promise<void>;

  private constructor(
    private readonly url: string,
    /** Called each time this process becomes the leader (the ticker reloads the state the last one left). */
    private readonly onLead: () => void,
    private readonly log: Log,
  ) {}

  static start(url: string, onLead: () => void, log: Log): PgLeadership {
    const l = new PgLeadership(url, onLead, log);
    l.schedule(0);
    return l;
  }

  isLeader(): boolean {
    return this.leader;
  }

  private schedule(ms: number): void {
    if (this.closed) return;
    this.timer = setTimeout(() => {
      this.polling = this.poll().finally(() => this.schedule(LEADER_POLL_MS));
    }, ms);
  }

  private async poll(): Promise<void> {
    try {
      const c = this.client ?? (await this.connect());
      if (this.leader) {
        await c.query('SELECT 1');
        return;
      }
      const r = await c.query<{ got: boolean }>('SELECT pg_try_advisory_lock($1) AS got', [CRON_LEADER_LOCK]);
      if (r.rows[0]?.got && !this.closed) {
        this.leader = true;
        this.log('info', 'this process now fires cron triggers (it holds the cron leader lock)');
        this.onLead();
      }
    } catch (e) {
      if (this.leader) this.log('warn', `gave up the cron lead: ${(e as Error).message}`);
      void this.drop();
    }
  }

  private async connect(): Promise<pg.Client> {
    const c = new pg.Client({
      connectionString: this.url,
      connectionTimeoutMillis: 2000,
      query_timeout: 3000,
      keepAlive: true,
      application_name: 'nimbus-cron-leader',
    });
    c.on('error', () => void this.drop());
    await c.connect();
    this.client = c;
    return c;
  }

  /** Ends the connection, and with it the lock (PostgreSQL releases a session lock when its session ends). */
  private drop(): Promise<void> {
    this.leader = false;
    const c = this.client;
    this.client = undefined;
    return c ? c.end().catch(() => undefined) : Promise.resolve();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.polling;
    await this.drop();
  }
}
