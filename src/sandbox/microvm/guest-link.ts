// The host's end of a microVM's agent channel, as one Duplex that outlives
// the QEMU process behind it: after a live migration the link is re-attached
// to the new QEMU's socket and the AgentSandbox above never notices. Before
// the sandbox takes the channel, the link talks to the agent itself (is it up,
// here are the function's files and the time); afterwards it only watches for
// the answers to its own memory pings.
import { Duplex } from 'node:stream';
import type net from 'node:net';
import { encodeFrame, FrameDecoder, GuestMessage, type HostMessage } from '../../guest/protocol.ts';

const OWN_PREFIX = 'nimbus-vm-';
const OBSERVE_LIMIT = 256 * 1024 * 1024;
const POTENTIAL_ANSWER = /^\{"type":"(pong|prepared)"/;

export class GuestLink {
  /** The channel AgentSandbox uses. */
  readonly channel: Duplex;
  private socket: net.Socket;
  private decoder = new FrameDecoder(OBSERVE_LIMIT);
  private observing = true;
  private shared = false;
  private held: { chunk: Buffer; done: (e?: Error | null) => void }[] | undefined;
  private readonly waiters = new Map<string, (m: GuestMessage) => void>();
  private nextId = 1;
  private lastRss: { mb: number; at: number } | undefined;
  private rssPending: Promise<number | undefined> | undefined;

  constructor(socket: net.Socket) {
    this.socket = socket;
    this.channel = new Duplex({
      read: () => undefined,
      write: (chunk: Buffer, _enc, done) => this.write(chunk, done),
      destroy: (err, done) => {
        this.socket.destroy();
        done(err);
      },
    });
    this.channel.on('error', () => undefined); // reported by the AgentSandbox's channel, or by the VM's exit
    this.listen(socket);
  }

  /** From now on the agent's messages go to the channel (the AgentSandbox); the link only watches. */
  handOver(): void {
    this.shared = true;
  }

  /** Sends a message that carries an id and resolves with the agent's answer to it. */
  request(message: HostMessage & { id: string }, timeoutMs: number): Promise<GuestMessage> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(message.id);
        reject(new Error(`the guest agent did not answer ${message.type} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.set(message.id, (answer) => {
        clearTimeout(timer);
        resolve(answer);
      });
      this.write(encodeFrame(message), () => undefined);
    });
  }

  newId(): string {
    return `${OWN_PREFIX}${this.nextId++}`;
  }

  /** Node's resident memory inside the guest, by ping; the last known value when the agent is busy. */
  guestRssMb(maxAgeMs = 250, timeoutMs = 1000): Promise<number | undefined> {
    if (this.lastRss && Date.now() - this.lastRss.at < maxAgeMs) return Promise.resolve(this.lastRss.mb);
    this.rssPending ??= this.request({ type: 'ping', id: this.newId() }, timeoutMs)
      .then((answer) => {
        if (answer.type === 'pong') this.lastRss = { mb: answer.rssBytes / (1024 * 1024), at: Date.now() };
        return this.lastRss?.mb;
      })
      .catch(() => this.lastRss?.mb)
      .finally(() => (this.rssPending = undefined));
    return this.rssPending;
  }

  /** Queues writes from now on (while the VM moves to another QEMU). */
  hold(): void {
    this.held ??= [];
  }

  /** Sends what was held to the same socket (the move did not happen). */
  release(): void {
    const held = this.held ?? [];
    this.held = undefined;
    for (const { chunk, done } of held) this.write(chunk, done);
  }

  /** Attaches the link to another QEMU's agent socket and sends what was held. */
  reattach(socket: net.Socket): void {
    const old = this.socket;
    this.socket = socket;
    old.removeAllListeners('data').removeAllListeners('close').removeAllListeners('error');
    old.on('error', () => undefined);
    old.destroy();
    this.decoder = new FrameDecoder(OBSERVE_LIMIT);
    this.listen(socket);
    this.release();
  }

  private write(chunk: Buffer, done: (e?: Error | null) => void): void {
    if (this.held) this.held.push({ chunk, done });
    else if (this.socket.destroyed) done(new Error('the VM agent socket is closed'));
    else this.socket.write(chunk, done);
  }

  private listen(socket: net.Socket): void {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (e) => this.channel.destroy(e));
    socket.on('close', () => this.channel.destroy());
  }

  private onData(chunk: Buffer): void {
    if (this.shared) this.channel.push(chunk);
    if (!this.observing) return;
    let frames: Buffer[];
    try {
      frames = this.decoder.push(chunk);
    } catch {
      this.observing = false; // the AgentSandbox's own decoder reports what is wrong
      return;
    }
    for (const frame of frames) {
      if (this.shared && !POTENTIAL_ANSWER.test(frame.subarray(0, 24).toString('latin1'))) continue;
      let parsed: ReturnType<typeof GuestMessage.safeParse>;
      try {
        parsed = GuestMessage.safeParse(JSON.parse(frame.toString('utf8')));
      } catch {
        continue;
      }
      if (!parsed.success || !('id' in parsed.data)) continue;
      const waiter = this.waiters.get(parsed.data.id);
      this.waiters.delete(parsed.data.id);
      waiter?.(parsed.data);
    }
  }
}
