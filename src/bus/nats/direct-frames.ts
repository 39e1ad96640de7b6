// Frames of a direct link (direct-server.ts, direct-client.ts): a request or
// reply between two nimbus processes over one TCP connection instead of two
// hops through the NATS server. A frame is its length, a small JSON header
// (ids, subject, handshake) and the payload bytes exactly as NATS would carry
// them, so sizes and encodings stay the bus's own. Frames written in one turn
// of the event loop go out in one socket write. A frame over the link's limit
// closes it: a peer cannot make this process buffer without bound.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Socket } from 'node:net';

export interface Frame {
  header: Record<string, unknown>;
  payload: Buffer;
}

/**
 * HMAC of both sides' handshake nonces under the link token, one per side, so
 * neither side ever sends the token itself. The server's proof covers the
 * client's fresh nonce: a hello read from the real server (anyone may connect
 * and read one) and replayed from another port proves nothing.
 */
export function proof(token: Buffer, side: 'server' | 'client', clientNonce: string, serverNonce: string): string {
  return createHmac('sha256', token).update(`${side}:${clientNonce}:${serverNonce}`).digest('base64');
}

/** A handshake nonce: base64 of 12 to 48 random bytes (no ':', which separates the parts of a proof). */
export function isNonce(v: unknown): v is string {
  return typeof v === 'string' && /^[A-Za-z0-9+/]{16,64}={0,2}$/.test(v);
}

export function proofMatches(expected: string, given: unknown): boolean {
  const a = Buffer.from(expected);
  const b = Buffer.from(typeof given === 'string' ? given : '');
  return a.length === b.length && timingSafeEqual(a, b);
}

export class FrameSocket {
  private buffered: Buffer = Buffer.alloc(0);
  private queued: Buffer[] = [];
  /** Largest frame accepted; small until the peer has proved it holds the token. */
  maxFrame = 4096;

  constructor(
    readonly socket: Socket,
    onFrame: (frame: Frame) => void,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      this.buffered = this.buffered.length ? Buffer.concat([this.buffered, chunk]) : chunk;
      while (this.buffered.length >= 8) {
        const size = this.buffered.readUInt32BE(0);
        const headerSize = this.buffered.readUInt32BE(4);
        if (size > this.maxFrame || headerSize > size) return void socket.destroy();
        if (this.buffered.length < 8 + size) return;
        let header: Record<string, unknown>;
        try {
          header = JSON.parse(this.buffered.subarray(8, 8 + headerSize).toString('utf8')) as Record<string, unknown>;
        } catch {
          return void socket.destroy();
        }
        const payload = this.buffered.subarray(8 + headerSize, 8 + size);
        this.buffered = this.buffered.subarray(8 + size);
        if (typeof header !== 'object' || header === null) return void socket.destroy();
        onFrame({ header, payload });
        if (socket.destroyed) return;
      }
    });
  }

  send(header: Record<string, unknown>, payload: Uint8Array = new Uint8Array()): void {
    if (this.socket.destroyed) return;
    const head = Buffer.from(JSON.stringify(header));
    const prefix = Buffer.allocUnsafe(8);
    prefix.writeUInt32BE(head.length + payload.length, 0);
    prefix.writeUInt32BE(head.length, 4);
    if (this.queued.push(prefix, head, Buffer.from(payload.buffer, payload.byteOffset, payload.length)) === 3)
      setImmediate(() => {
        const all = this.queued;
        this.queued = [];
        if (!this.socket.destroyed) this.socket.write(Buffer.concat(all));
      });
  }
}
