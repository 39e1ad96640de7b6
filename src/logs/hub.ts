// A front end's followers of live logs. The hub listens on a function's log
// subject only while someone follows it (one bus subscription per function,
// however many follow), hands each batch to that function's followers, and
// bounds how many may follow through this front end at once (429 beyond), and
// how many of those one namespace's keys may hold, so that one team cannot
// take every place and keep the others from following their own functions.
import type { Bus, Unsubscribe } from '../bus/bus.ts';
import { NimbusError } from '../shared/errors.ts';
import { splitQualified } from '../tenancy/names.ts';
import { LiveLogMessage, logSubject } from './messages.ts';

export interface Follower {
  /** One batch of one call's lines. */
  deliver(message: LiveLogMessage): void;
  /** The hub is closing (the front end stops): end the stream. */
  end(): void;
}

interface Topic {
  followers: Set<Follower>;
  subscribed: Promise<Unsubscribe>;
}

export class LiveLogHub {
  private readonly topics = new Map<string, Topic>();
  private count = 0;
  private closed = false;
  /** Followers each namespace's keys hold now. */
  private readonly held = new Map<string, number>();

  constructor(
    private readonly bus: Bus,
    readonly maxFollowers: number,
  ) {}

  get followers(): number {
    return this.count;
  }

  /** The places one namespace's keys may hold: a quarter of the front end's. */
  get perNamespace(): number {
    return Math.max(1, Math.floor(this.maxFollowers / 4));
  }

  /**
   * Starts following a function (qualified name); resolves once the bus delivers its lines. Returns the stop.
   * `shared`: the follower is a namespace key's, held to its namespace's share (root's is not).
   */
  async follow(functionName: string, follower: Follower, shared = false): Promise<() => void> {
    if (this.closed) throw new NimbusError('unavailable', 'this front end is stopping; follow the logs again');
    if (this.count >= this.maxFollowers)
      throw new NimbusError(
        'throttled',
        `${this.count} clients already follow logs on this front end (at most ${this.maxFollowers}); stop one or try again later`,
        { retryAfterSeconds: 5 },
      );
    const ns = shared ? splitQualified(functionName).namespace : undefined;
    if (ns !== undefined && (this.held.get(ns) ?? 0) >= this.perNamespace)
      throw new NimbusError(
        'throttled',
        `namespace "${ns}" already follows logs with ${this.perNamespace} clients on this front end (its most); stop one or try again later`,
        { retryAfterSeconds: 5 },
      );
    this.count++;
    if (ns !== undefined) this.held.set(ns, (this.held.get(ns) ?? 0) + 1);
    let topic = this.topics.get(functionName);
    if (!topic) {
      const followers = new Set<Follower>();
      const subscribed = this.bus.listen(logSubject(functionName), async (data) => {
        const parsed = LiveLogMessage.safeParse(data);
        // The subject is escaped, not hashed: still, only this function's lines reach its followers.
        if (!parsed.success || parsed.data.functionName !== functionName) return;
        for (const f of followers) f.deliver(parsed.data);
      });
      topic = { followers, subscribed };
      this.topics.set(functionName, topic);
      subscribed.catch(() => this.topics.get(functionName) === topic && this.topics.delete(functionName));
    }
    topic.followers.add(follower);
    const t = topic;
    let stopped = false;
    const stop = () => {
      if (stopped) return;
      stopped = true;
      this.count--;
      if (ns !== undefined) {
        const left = (this.held.get(ns) ?? 1) - 1;
        if (left > 0) this.held.set(ns, left);
        else this.held.delete(ns);
      }
      t.followers.delete(follower);
      if (t.followers.size > 0 || this.topics.get(functionName) !== t) return;
      this.topics.delete(functionName);
      void t.subscribed.then((unsubscribe) => unsubscribe()).catch(() => undefined);
    };
    try {
      await t.subscribed;
    } catch (e) {
      stop();
      throw new NimbusError('unavailable', `cannot follow logs: the bus refused the subscription (${String(e)})`);
    }
    return stop;
  }

  /** Ends every follower (their streams close) and every subscription. */
  close(): void {
    this.closed = true;
    for (const t of [...this.topics.values()]) for (const f of [...t.followers]) f.end();
  }
}
