// The serving end of direct links: a process that serves request subjects
// (an invoker's run subject) also answers them over TCP, so a front end's warm
// call crosses one connection instead of two hops through the NATS server
// (docs/architecture.md: direct links). Who may connect: a process that holds
// this server's token, which it learns only by asking on NATS, the same trust
// boundary as sending the request on NATS. The handshake proves the token both
// ways with an HMAC of both sides' fresh nonces (the client speaks first with
// its nonce, so a hello cannot be replayed); the token itself never crosses
// the link. Nothing but the handshake is read from a connection before its
// proof, frames before it are capped at 4 KB, a connection that does not prove
// itself within HANDSHAKE_MS is closed, and at most MAX_UNPROVEN wait at once
// (a local process cannot hold this process's file descriptors; a front end
// turned away just stays on NATS). A proven link is pinged by its client
// (direct-client.ts) and answered at once, whatever runs.
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { z } from 'zod';
import { NimbusError } from '../../shared/errors.ts';
import { encode, errorReply } from './codec.ts';
import { FrameSocket, isNonce, proof, proofMatches, type Frame } from './direct-frames.ts';

export const HANDSHAKE_MS = 5000;
/** Connections at once that have not yet proved they hold the token. */
export const MAX_UNPROVEN = 64;

/** Where and how to reach a direct server: the discovery reply on NATS (token: 32 bytes, base64). */
export const Offer = z.object({
  host: z.string().refine((h) => net.isIP(h) !== 0),
  port: z.number().int().min(1).max(65535),
  token: z.string().regex(/^[A-Za-z0-9+/]{43}=$/),
});
export type DirectOffer = z.infer<typeof Offer>;

/** Answers one request's payload with the reply envelope's bytes (the NATS serve path's own). */
export type Answer = (payload: Uint8Array) => Promise<Uint8Array>;

export class DirectServer {
  private readonly token = randomBytes(32);
  private readonly answers = new Map<string, Answer>();
  private readonly sockets = new Set<net.Socket>();
  private unproven = 0;
  private server?: net.Server;
  private port = 0;

  constructor(
    /** The address to listen on and to offer (a loopback address unless front ends run on other hosts). */
    private readonly host: string,
    private readonly maxFrame: () => number,
    /** The bus's own size check (NATS's max_payload), so a request refused on NATS is refused here too. */
    private readonly checkSize: (bytes: Uint8Array, what: string) => void,
  ) {}

  async add(subject: string, answer: Answer): Promise<void> {
    this.answers.set(subject, answer);
    if (!this.server) await this.listen();
  }

  remove(subject: string): void {
    this.answers.delete(subject);
  }

  offer(): DirectOffer {
    return { host: this.host, port: this.port, token: this.token.toString('base64') };
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private async listen(): Promise<void> {
    const server = net.createServer((socket) => this.accept(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, this.host, () => resolve());
    });
    server.on('error', () => undefined);
    this.port = (server.address() as net.AddressInfo).port;
  }

  private accept(socket: net.Socket): void {
    if (this.unproven >= MAX_UNPROVEN) return void socket.destroy();
    this.unproven++;
    this.sockets.add(socket);
    socket.on('error', () => undefined);
    const serverNonce = randomBytes(18).toString('base64');
    let clientNonce: string | undefined;
    let proven = false;
    const timer = setTimeout(() => proven || socket.destroy(), HANDSHAKE_MS);
    socket.on('close', () => {
      clearTimeout(timer);
      this.sockets.delete(socket);
      if (!proven) this.unproven--;
    });
    const link = new FrameSocket(socket, (frame) => {
      if (proven) {
        if (frame.header.t === 'ping') return void link.send({ t: 'pong' });
        return void this.request(link, frame);
      }
      const { t } = frame.header;
      if (clientNonce === undefined) {
        if (t !== 'hi' || !isNonce(frame.header.nonce)) return void socket.destroy();
        clientNonce = frame.header.nonce;
        return void link.send({
          t: 'hello',
          nonce: serverNonce,
          proof: proof(this.token, 'server', clientNonce, serverNonce),
        });
      }
      if (t !== 'auth' || !proofMatches(proof(this.token, 'client', clientNonce, serverNonce), frame.header.proof))
        return void socket.destroy();
      proven = true;
      this.unproven--;
      clearTimeout(timer);
      link.maxFrame = this.maxFrame() + 4096; // the payload limit NATS sets, plus the header
    });
  }

  private async request(link: FrameSocket, { header, payload }: Frame): Promise<void> {
    const { i, s } = header;
    if (typeof i !== 'number' || typeof s !== 'string') return void link.socket.destroy();
    const answer = this.answers.get(s);
    let reply: Uint8Array;
    try {
      this.checkSize(payload, 'the request');
      reply = answer
        ? await answer(payload)
        : encode(errorReply(new NimbusError('unavailable', `nothing answers on ${s}`, { delivered: false })));
    } catch (e) {
      reply = encode(errorReply(e));
    }
    link.send({ i }, reply);
  }
}
