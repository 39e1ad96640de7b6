// The presence contract: invokers announce themselves with periodic heartbeats
// that carry their load; a view lists the invokers heard from recently. An
// invoker that stops heartbeating leaves the view after the TTL. The NATS
// driver keeps heartbeats in a JetStream KV bucket (nats/presence.ts).
import { z } from 'zod';

export const Heartbeat = z.object({
  id: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/),
  /** Runs in progress on the invoker now. */
  inflight: z.number().int().min(0),
  /** Runs it takes before the balancer should send work elsewhere. */
  slots: z.number().int().min(1),
  host: z.string(),
  pid: z.number().int(),
  startedAt: z.string(),
});
export type Heartbeat = z.infer<typeof Heartbeat>;

export type Load = Pick<Heartbeat, 'inflight' | 'slots'>;

export interface PresenceEvents {
  /** An invoker's heartbeat (also its first one). */
  seen(heartbeat: Heartbeat): void;
  /** An invoker left: it said goodbye, or its heartbeats stopped for longer than the TTL. */
  left(id: string, why: string): void;
}

export interface Presence {
  /** Heartbeat period and time-to-live of an entry, ms. */
  readonly intervalMs: number;
  readonly ttlMs: number;
  /**
   * Publishes this invoker's heartbeat now and then every interval, reading
   * its load each time; the returned function stops and says goodbye.
   */
  announce(identity: Omit<Heartbeat, 'inflight' | 'slots'>, load: () => Load): Promise<() => Promise<void>>;
  /** Watches heartbeats; the returned function stops watching. */
  watch(events: PresenceEvents): Promise<() => Promise<void>>;
}
