// A front end's followers of live logs. The hub listens on a function's log
// subject only while someone follows it (one bus subscription per function,
// however many follow), hands each batch to that function's followers, and
// bounds how many may follow through this front end at once (429 beyond).
import type { Bus, Unsubscribe } from '../bus/bus.ts';
import { NimbusError } from '../shared/errors.ts';
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

  constructor(
    private readonly bus: Bus,
    readonly maxFollowers: number,
  ) {}

  get followers(): number {
    return this.count;
  }

  /** Starts following a function (qualified name); resolves once the bus delivers its lines. Returns the stop. */
  async follow(functionName: string, follower: Follower): Promise<() => void> {
    if (this.closed) throw new NimbusError('unavailable', 'this front end is stopping; follow the logs again');
    if (this.count >= this.maxFollowers)
      throw new NimbusError(
        'throttled',
        `${this.count} clients already follow logs on this front end (at most ${this.maxFollowers}); stop one or try again later`,
        { retryAfterSeconds: 5 },
      );
    this.count++;
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
