// Options of the NATS bus, read from its URL: nats://[user:pass@]host:port
// [,nats://host2:port…][?name=value…]. Every option has a default and is
// validated once; the rest of the driver reads the compiled form.
import { isIP } from 'node:net';
import { z } from 'zod';

const ms = (def: number, min: number) => z.coerce.number().int().min(min).default(def);

export const NatsBusOptions = z.object({
  /** Prefix of every subject, stream, consumer and bucket: several clusters (or tests) can share a server. */
  namespace: z
    .string()
    .regex(/^[a-zA-Z0-9_-]{1,32}$/)
    .optional(),
  /** How long a delivered queue message may go without an ack or in-progress ack before redelivery, ms. */
  ack_wait: ms(30_000, 1000),
  /** Deliveries of one message before it goes to the dead-letter stream. */
  max_deliver: z.coerce.number().int().min(2).max(10_000).default(64),
  /** Window in which a repeated message id (Nats-Msg-Id) is dropped as a duplicate, ms. */
  dedupe_window: ms(120_000, 1000),
  /** Replicas of every stream and bucket (1 on a single server; 3 on a cluster). */
  replicas: z.coerce.number().int().min(1).max(5).default(1),
  /**
   * Messages one process runs from the queue at once. Each holds its place
   * while its run is read, waits for a sandbox, runs and is recorded, so a
   * backlog drains only as fast as this many places allow (32 held a cluster
   * drain to 2,200 runs/s on 2 cores, 64 reached 3,100); past the pool's wait
   * queue (waitQueueLimit, 100) the runs of one function would be refused.
   * @default 64
   */
  concurrency: z.coerce.number().int().min(1).max(1000).default(64),
  /** Invoker heartbeat period, ms. */
  heartbeat: ms(1000, 100),
  /** An invoker whose heartbeats stop for this long leaves the pool, ms. */
  presence_ttl: ms(5000, 500),
  /**
   * Direct links (direct-server.ts): the address a process that serves requests
   * (an invoker) listens on for front ends' requests, skipping the NATS hop; an
   * address its front ends can reach (a loopback one on a single machine), or
   * `off`. Requests go on NATS until a link is up, and whenever it is not.
   */
  direct: z
    .string()
    .refine((v) => v === 'off' || isIP(v) !== 0, 'an IP address to listen on, or off')
    .default('127.0.0.1'),
  /** Time to wait for the server at connect and for a JetStream publish ack, ms. */
  timeout: ms(5000, 100),
});
export type NatsBusOptions = z.output<typeof NatsBusOptions>;

export interface NatsTarget {
  servers: string[];
  user?: string;
  pass?: string;
  options: NatsBusOptions;
}

/** Parses a bus URL; throws a message saying what is wrong and how to write it. */
export function parseNatsUrl(url: string): NatsTarget {
  const parts = url
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const servers: string[] = [];
  let user: string | undefined;
  let pass: string | undefined;
  let query = new URLSearchParams();
  for (const part of parts) {
    let u: URL;
    try {
      u = new URL(part.includes('://') ? part : `nats://${part}`);
    } catch {
      throw new Error(`bad bus URL "${part}": write nats://host:port`);
    }
    if (u.protocol !== 'nats:') throw new Error(`bad bus URL "${part}": the scheme must be nats://`);
    if (u.username) ((user = decodeURIComponent(u.username)), (pass = decodeURIComponent(u.password)));
    if (u.search) query = u.searchParams;
    servers.push(`${u.hostname.includes(':') ? `[${u.hostname}]` : u.hostname}:${u.port || '4222'}`);
  }
  if (servers.length === 0) throw new Error('empty bus URL: write nats://host:port');
  const parsed = NatsBusOptions.safeParse(Object.fromEntries(query));
  if (!parsed.success) {
    throw new Error(
      `bad bus URL options: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  }
  const unknown = [...query.keys()].filter((k) => !(k in NatsBusOptions.shape));
  if (unknown.length)
    throw new Error(
      `unknown bus URL option(s) ${unknown.join(', ')}; known: ${Object.keys(NatsBusOptions.shape).join(', ')}`,
    );
  return { servers, user, pass, options: parsed.data };
}
