// The cluster bus on NATS. Sync: core request/reply, every server subscribed
// in a queue group; nobody listening → `unavailable` at once (no-responders),
// no reply in time → `unavailable`. Broadcasts and fire-and-forget publishes
// (live log lines): plain subjects. Async: a JetStream work-queue stream per
// queue, publishes deduplicated by Nats-Msg-Id and resolved only on the
// stream's ack, a durable pull consumer per queue (queue-worker.ts) and a
// dead-letter stream (dead-letter.ts).
// Presence: heartbeats in a KV bucket (presence.ts). Reconnects forever; a
// request waiting for its reply when the connection drops fails at once.
import { connect, headers, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { NimbusError, isNimbusError } from '../../shared/errors.ts';
import type { AckReport, Bus, ConsumeOptions, QueueMessage, Unsubscribe } from '../bus.ts';
import { answerInProcess, type RequestHandler } from '../in-process.ts';
import { AckedBroadcasts } from './acked.ts';
import { decode, encode, errorReply, okReply, openReply } from './codec.ts';
import { DirectLinks } from './direct-client.ts';
import { DirectServer, Offer, type DirectOffer } from './direct-server.ts';
import { startDeadLetters } from './dead-letter.ts';
import { parseNatsUrl, type NatsBusOptions } from './options.ts';
import { NatsPresence } from './presence.ts';
import { NOT_BEFORE_HEADER, QueueWorker } from './queue-worker.ts';
import { ensureQueue, queueNames, type QueueNames } from './streams.ts';

type Log = (msg: string, extra?: Record<string, unknown>) => void;

export class NatsBus implements Bus {
  readonly durable = true;
  readonly presence: NatsPresence;
  private connected = true;
  private readonly reconnectHooks = new Set<() => void>();
  private readonly queues = new Map<string, Promise<QueueNames>>();
  private readonly stoppers = new Set<() => Promise<void>>();
  private readonly waiting = new Set<(e: Error) => void>();
  /** Subjects this process serves: their requests from here are answered here, with no wire in between. */
  private readonly served = new Map<string, RequestHandler>();
  private turn: Promise<void> | undefined;
  private readonly acked: AckedBroadcasts;
  /** Direct links (direct-server.ts), unless the `direct` option is off. */
  private readonly direct?: DirectServer;
  private readonly links?: DirectLinks;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    readonly options: NatsBusOptions,
    private readonly log: Log,
  ) {
    const o = options;
    this.acked = new AckedBroadcasts(nc, log);
    if (o.direct !== 'off') {
      const maxFrame = () => this.nc.info?.max_payload ?? 1024 * 1024;
      this.direct = new DirectServer(o.direct, maxFrame, (bytes, what) => this.checkSize(bytes, what));
      this.links = new DirectLinks((subject) => this.discover(subject), maxFrame);
    }
    this.presence = new NatsPresence({
      js,
      bucket: `${o.namespace ? `${o.namespace}_` : ''}nimbus_invokers`,
      intervalMs: o.heartbeat,
      ttlMs: o.presence_ttl,
      replicas: o.replicas,
      connected: () => this.connected,
      onReconnect: (fn) => this.reconnectHooks.add(fn),
      log,
    });
  }

  static async create(url: string, log: Log = () => undefined): Promise<NatsBus> {
    const target = parseNatsUrl(url);
    let nc: NatsConnection;
    try {
      nc = await connect({
        servers: target.servers,
        user: target.user,
        pass: target.pass,
        name: `nimbus-${process.pid}`,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 250,
        timeout: target.options.timeout,
        pingInterval: 10_000,
        // No Error (stack capture) made up front for every request on the warm path: our errors say what failed without it.
        noAsyncTraces: true,
      });
    } catch (e) {
      throw new Error(`cannot connect to NATS at ${target.servers.join(', ')}: ${(e as Error).message}`);
    }
    const js = jetstream(nc, { timeout: target.options.timeout });
    const jsm = await jetstreamManager(nc, { timeout: target.options.timeout }).catch((e: Error) => {
      void nc.close();
      throw new Error(
        `NATS at ${target.servers.join(', ')} has no JetStream (start nats-server with -js): ${e.message}`,
      );
    });
    const bus = new NatsBus(nc, js, jsm, target.options, log);
    void bus.watchStatus();
    return bus;
  }

  private async watchStatus(): Promise<void> {
    for await (const s of this.nc.status()) {
      if (s.type === 'disconnect') {
        this.connected = false;
        this.log('disconnected from NATS');
        const lost = new NimbusError('unavailable', 'lost the connection to NATS while waiting for the reply');
        for (const fail of [...this.waiting]) fail(lost);
      } else if (s.type === 'reconnect') {
        this.connected = true;
        this.log('reconnected to NATS');
        for (const fn of this.reconnectHooks) fn();
      }
    }
  }

  private subject(s: string): string {
    return this.options.namespace ? `${this.options.namespace}.${s}` : s;
  }

  private checkSize(bytes: Uint8Array, what: string): void {
    const max = this.nc.info?.max_payload ?? 1024 * 1024;
    if (bytes.length > max) {
      throw new NimbusError(
        'payload_too_large',
        `${what} is ${bytes.length} bytes, over the NATS server's max_payload of ${max}; raise max_payload in nats-server.conf`,
      );
    }
  }

  private down(what: string): NimbusError {
    return new NimbusError('unavailable', `${what}: not connected to NATS (reconnecting)`, { delivered: false });
  }

  /** A request's reply envelope, as bytes: the same on NATS and on a direct link. */
  private async answer(
    handler: (data: unknown) => Promise<unknown>,
    payload: Uint8Array,
    subject: string,
  ): Promise<Uint8Array> {
    let reply;
    try {
      reply = okReply(await handler(decode(payload, `a request on ${subject}`)));
    } catch (e) {
      if (!isNimbusError(e)) this.log('request handler failed', { subject, err: String(e) });
      reply = errorReply(e);
    }
    const bytes = encode(reply);
    try {
      this.checkSize(bytes, 'the reply');
      return bytes;
    } catch (e) {
      return encode(errorReply(e));
    }
  }

  async serve(subject: string, handler: RequestHandler): Promise<Unsubscribe> {
    const answer = (payload: Uint8Array) => this.answer(handler, payload, subject);
    this.served.set(subject, handler);
    const sub: Subscription = this.nc.subscribe(this.subject(subject), {
      queue: 'nimbus',
      callback: (err, msg) => {
        if (err) return this.log('subscription error', { subject, err: String(err) });
        void (async () => {
          const bytes = await answer(msg.data);
          await this.sameTurn(); // replies of one turn go out in one write, as requests do
          msg.respond(bytes);
        })();
      },
    });
    const direct = this.direct;
    let offers: Subscription | undefined;
    if (direct) {
      await direct.add(subject, answer);
      offers = this.nc.subscribe(this.subject(`${subject}.direct`), {
        queue: 'nimbus',
        callback: (_err, msg) => void msg.respond(encode(direct.offer())),
      });
    }
    await this.nc.flush(); // the server knows the subscription before this resolves
    return async () => {
      if (this.served.get(subject) === handler) this.served.delete(subject);
      sub.unsubscribe();
      offers?.unsubscribe();
      direct?.remove(subject);
    };
  }

  /** Where `subject`'s server takes direct links, asked on NATS; undefined if none offers one. */
  private async discover(subject: string): Promise<DirectOffer | undefined> {
    const m = await this.nc.request(this.subject(`${subject}.direct`), new Uint8Array(), { timeout: 2000 });
    const offer = Offer.safeParse(decode(m.data, `the direct link offer for ${subject}`));
    return offer.success ? offer.data : undefined;
  }

  /** Subjects whose requests from this process now cross a direct link (tests, diagnostics). */
  directLinks(): string[] {
    return this.links?.linked() ?? [];
  }

  async request(subject: string, data: unknown, timeoutMs: number): Promise<unknown> {
    // Any server of a subject may answer; this one costs no encoding, no socket write and no hop.
    const here = this.served.get(subject);
    if (here) return answerInProcess(here, data, subject, timeoutMs);
    const bytes = encode(data);
    this.checkSize(bytes, 'the request');
    const linked = this.links?.request(subject, bytes, timeoutMs);
    if (linked) return openReply(await linked, subject);
    if (!this.connected || this.nc.isClosed()) throw this.down(`cannot send to ${subject}`);
    let msg;
    let fail: (e: Error) => void = () => undefined;
    const lost = new Promise<never>((_, reject) => (fail = reject));
    this.waiting.add(fail);
    try {
      await this.sameTurn();
      const sent = this.nc.request(this.subject(subject), bytes, { timeout: timeoutMs });
      sent.catch(() => undefined);
      msg = await Promise.race([sent, lost]);
    } catch (e) {
      if (isNimbusError(e)) throw e;
      const err = e as Error & { isNoResponders?: () => boolean };
      if (typeof err.isNoResponders === 'function' && err.isNoResponders()) {
        throw new NimbusError('unavailable', `nothing answers on ${subject}`, { delivered: false });
      }
      if (err.name === 'TimeoutError' || /timeout/i.test(err.message))
        throw new NimbusError('unavailable', `no reply on ${subject} within ${timeoutMs} ms`);
      throw new NimbusError('unavailable', `request on ${subject} failed: ${err.message}`);
    } finally {
      this.waiting.delete(fail);
    }
    return openReply(msg.data, subject);
  }

  /**
   * Resolves in the next turn of the event loop, together with every other
   * request or reply made in this one: nats.js writes what was sent in one turn's
   * microtasks as one frame, so requests of many HTTP calls read in one poll
   * go out in one socket write instead of one each (most of a request's cost
   * on a busy front end is that write).
   */
  private sameTurn(): Promise<void> {
    return (this.turn ??= new Promise<void>((resolve) =>
      setImmediate(() => {
        this.turn = undefined;
        resolve();
      }),
    ));
  }

  async broadcast(subject: string, data: unknown): Promise<void> {
    if (!this.connected || this.nc.isClosed()) throw this.down(`cannot broadcast on ${subject}`);
    this.nc.publish(this.subject(subject), encode(data));
    await this.nc.flush();
  }

  async broadcastAcked(subject: string, data: unknown, timeoutMs: number): Promise<AckReport> {
    if (!this.connected || this.nc.isClosed()) throw this.down(`cannot broadcast on ${subject}`);
    return this.acked.broadcast(this.subject(subject), data, timeoutMs);
  }

  listenAcked(subject: string, handler: (data: unknown) => Promise<void>): Promise<Unsubscribe> {
    return this.acked.listen(this.subject(subject), handler);
  }

  publish(subject: string, data: unknown): void {
    if (!this.connected || this.nc.isClosed()) return;
    try {
      const bytes = encode(data);
      if (bytes.length <= (this.nc.info?.max_payload ?? 1024 * 1024)) this.nc.publish(this.subject(subject), bytes);
    } catch (e) {
      this.log('could not publish', { subject, err: String(e) });
    }
  }

  async listen(subject: string, handler: (data: unknown) => Promise<void>): Promise<Unsubscribe> {
    const sub = this.nc.subscribe(this.subject(subject), {
      callback: (err, msg) => {
        if (err) return;
        try {
          void handler(decode(msg.data, `a broadcast on ${subject}`)).catch((e: unknown) =>
            this.log('broadcast handler failed', { subject, err: String(e) }),
          );
        } catch (e) {
          this.log('bad broadcast', { subject, err: String(e) });
        }
      },
    });
    await this.nc.flush();
    return async () => sub.unsubscribe();
  }

  private queue(queue: string): Promise<QueueNames> {
    let p = this.queues.get(queue);
    if (!p) {
      const names = queueNames(queue, this.options.namespace);
      p = ensureQueue(this.jsm, names, this.options).then(() => names);
      p.catch(() => this.queues.delete(queue));
      this.queues.set(queue, p);
    }
    return p;
  }

  async enqueue(queue: string, id: string, data: unknown, delayMs = 0): Promise<void> {
    if (!this.connected || this.nc.isClosed()) throw this.down(`cannot queue ${id}`);
    const bytes = encode({ id, data });
    this.checkSize(bytes, 'the queued message');
    try {
      const names = await this.queue(queue);
      const h = headers();
      if (delayMs > 0) h.set(NOT_BEFORE_HEADER, String(Date.now() + delayMs));
      await this.js.publish(names.subject, bytes, { msgID: id, headers: h, timeout: this.options.timeout });
    } catch (e) {
      if (isNimbusError(e)) throw e;
      throw new NimbusError('unavailable', `the queue did not acknowledge ${id}: ${(e as Error).message}`);
    }
  }

  async consume(
    queue: string,
    handler: (m: QueueMessage) => Promise<void>,
    options: ConsumeOptions = {},
  ): Promise<Unsubscribe> {
    const names = await this.queue(queue);
    const consumer = await this.js.consumers.get(names.stream, names.consumer);
    const worker = new QueueWorker(consumer, handler, {
      concurrency: this.options.concurrency,
      ackWaitMs: this.options.ack_wait,
      log: this.log,
    });
    await worker.start();
    const stopDead = options.onDeadLetter
      ? await startDeadLetters({ js: this.js, jsm: this.jsm, names, onDeadLetter: options.onDeadLetter, log: this.log })
      : async () => undefined;
    const stop = async () => {
      this.stoppers.delete(stop);
      await Promise.all([worker.stop(), stopDead()]);
    };
    this.stoppers.add(stop);
    return stop;
  }

  async close(): Promise<void> {
    await Promise.all([...this.stoppers].map((s) => s()));
    this.links?.close();
    await this.direct?.close();
    await this.presence.close();
    this.reconnectHooks.clear();
    if (this.nc.isClosed()) return;
    await this.nc.drain().catch(() => this.nc.close());
  }
}
