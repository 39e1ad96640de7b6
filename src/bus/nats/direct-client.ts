// The requesting end of direct links (direct-server.ts). The first request to
// a subject goes on NATS as always and, beside it, asks on NATS where that
// subject's server listens; once the link is open and the server has proved it
// holds the token, later requests to the subject cross it. Whatever goes wrong
// (no offer, refused, a server that cannot prove itself, a link that drops)
// sends requests back to NATS, and the subject is tried again after RETRY_MS.
// A request in flight when its link drops fails `unavailable`, as one whose
// NATS reply never came: it may have run. A link is pinged every PING_MS and
// closed when nothing came back for DEAD_PINGS of them: a peer that went silent
// without a reset (a frozen process, a host that died, a partition) would
// otherwise keep every request to the subject until its timeout, while the
// process now serving the subject (an invoker restarted on the same id) is a
// NATS request away.
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { NimbusError } from '../../shared/errors.ts';
import { FrameSocket, isNonce, proof, proofMatches } from './direct-frames.ts';
import { HANDSHAKE_MS, type DirectOffer } from './direct-server.ts';

export const RETRY_MS = 1000;
export const PING_MS = 5000;
/** Pings without anything heard back before a link counts as dead. */
const DEAD_PINGS = 3;

export interface LinkOptions {
  /** How often a link is pinged (tests shorten it). */
  pingMs?: number;
}

interface Waiter {
  resolve: (payload: Uint8Array) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

class Link {
  private readonly waiting = new Map<number, Waiter>();
  private next = 0;
  readonly frames: FrameSocket;

  constructor(
    socket: net.Socket,
    private readonly where: string,
    pingMs: number,
  ) {
    let heard = Date.now();
    this.frames = new FrameSocket(socket, ({ header, payload }) => {
      heard = Date.now();
      const w = typeof header.i === 'number' ? this.waiting.get(header.i) : undefined;
      if (!w) return;
      this.waiting.delete(header.i as number);
      clearTimeout(w.timer);
      w.resolve(payload);
    });
    const pinger = setInterval(() => {
      if (Date.now() - heard > DEAD_PINGS * pingMs) return void socket.destroy();
      this.frames.send({ t: 'ping' });
    }, pingMs).unref();
    socket.on('close', () => {
      clearInterval(pinger);
      const lost = new NimbusError('unavailable', `the direct link to ${where} closed before the reply`);
      for (const w of this.waiting.values()) (clearTimeout(w.timer), w.reject(lost));
      this.waiting.clear();
    });
  }

  get open(): boolean {
    return !this.frames.socket.destroyed;
  }

  request(subject: string, payload: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      const i = this.next++;
      const timer = setTimeout(() => {
        this.waiting.delete(i);
        reject(new NimbusError('unavailable', `no reply on ${subject} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(i, { resolve, reject, timer });
      this.frames.send({ i, s: subject }, payload);
    });
  }
}

/**
 * Connects, sends a fresh nonce and checks the server's proof over it before
 * anything else is sent; resolves once our own proof is on its way.
 */
function connect(offer: DirectOffer, maxFrame: number, pingMs: number): Promise<Link> {
  const token = Buffer.from(offer.token, 'base64');
  const where = `${offer.host}:${offer.port}`;
  const mine = randomBytes(18).toString('base64');
  return new Promise((resolve, reject) => {
    const socket = net.connect(offer.port, offer.host);
    const fail = (why: string) => (socket.destroy(), reject(new Error(`direct link to ${where}: ${why}`)));
    const timer = setTimeout(() => fail('no handshake in time'), HANDSHAKE_MS);
    socket.on('error', (e) => fail(e.message));
    socket.on('close', () => (clearTimeout(timer), fail('closed')));
    const hello = new FrameSocket(socket, ({ header }) => {
      socket.removeAllListeners('data');
      clearTimeout(timer);
      const theirs = header.nonce;
      if (header.t !== 'hello' || !isNonce(theirs) || !proofMatches(proof(token, 'server', mine, theirs), header.proof))
        return fail('the server did not prove it holds the token');
      hello.send({ t: 'auth', proof: proof(token, 'client', mine, theirs) });
      const link = new Link(socket, where, pingMs);
      link.frames.maxFrame = maxFrame + 4096;
      resolve(link);
    });
    hello.send({ t: 'hi', nonce: mine });
  });
}

export class DirectLinks {
  /** Per subject: its open link, a connection under way, or when to try again. */
  private readonly bySubject = new Map<string, Link | Promise<void> | number>();
  private readonly links = new Set<Link>();

  constructor(
    private readonly discover: (subject: string) => Promise<DirectOffer | undefined>,
    private readonly maxFrame: () => number,
    private readonly options: LinkOptions = {},
  ) {}

  /** The reply over this subject's link, or undefined while it has none (send the request on NATS). */
  request(subject: string, payload: Uint8Array, timeoutMs: number): Promise<Uint8Array> | undefined {
    const state = this.bySubject.get(subject);
    if (state instanceof Link && state.open) return state.request(subject, payload, timeoutMs);
    if (state === undefined || state instanceof Link || (typeof state === 'number' && Date.now() >= state))
      this.bySubject.set(subject, this.open(subject));
    return undefined;
  }

  /** Subjects whose requests now cross a direct link. */
  linked(): string[] {
    return [...this.bySubject].filter(([, s]) => s instanceof Link && s.open).map(([subject]) => subject);
  }

  close(): void {
    for (const link of this.links) link.frames.socket.destroy();
  }

  private async open(subject: string): Promise<void> {
    try {
      const offer = await this.discover(subject);
      if (!offer) throw new Error('no offer');
      const link = await connect(offer, this.maxFrame(), this.options.pingMs ?? PING_MS);
      this.links.add(link);
      link.frames.socket.on('close', () => {
        this.links.delete(link);
        if (this.bySubject.get(subject) === link) this.bySubject.set(subject, Date.now() + RETRY_MS);
      });
      this.bySubject.set(subject, link);
    } catch {
      this.bySubject.set(subject, Date.now() + RETRY_MS);
    }
  }
}
