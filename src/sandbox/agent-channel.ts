// Host side of the agent's control channel: frames out, validated frames in,
// with a hard cap on frame size so that a hostile guest cannot flood the host.
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { GuestMessage, FrameWriter, FrameDecoder, FrameTooLargeError, type HostMessage } from '../guest/protocol.ts';

export interface AgentChannelEvents {
  message: [GuestMessage];
  /** The channel broke: closed, errored, or the guest sent something invalid. */
  broken: [reason: string, oversized: boolean];
}

export class AgentChannel extends EventEmitter<AgentChannelEvents> {
  private readonly decoder: FrameDecoder;
  private readonly writer: FrameWriter;
  private isBroken = false;

  constructor(
    private readonly stream: Duplex,
    maxFrameBytes: number,
  ) {
    super();
    this.decoder = new FrameDecoder(maxFrameBytes);
    this.writer = new FrameWriter({ write: (chunk) => !this.isBroken && !stream.destroyed && stream.write(chunk) });
    stream.on('data', (chunk: Buffer) => this.onData(chunk));
    stream.on('error', (e) => this.break(`control channel error: ${e.message}`));
    stream.on('close', () => this.break('control channel closed'));
    stream.on('end', () => this.break('control channel closed'));
  }

  send(message: HostMessage): void {
    if (this.isBroken) return;
    this.writer.send(message);
  }

  close(): void {
    this.isBroken = true;
    this.stream.destroy();
  }

  private onData(chunk: Buffer): void {
    if (this.isBroken) return;
    let frames: Buffer[];
    try {
      frames = this.decoder.push(chunk);
    } catch (e) {
      const oversized = e instanceof FrameTooLargeError;
      return this.break(oversized ? `guest sent ${(e as Error).message}` : String(e), oversized);
    }
    for (const frame of frames) {
      let parsed: GuestMessage;
      try {
        parsed = GuestMessage.parse(JSON.parse(frame.toString('utf8')));
      } catch (e) {
        return this.break(`guest sent an invalid message: ${(e as Error).message.slice(0, 200)}`);
      }
      this.emit('message', parsed);
    }
  }

  private break(reason: string, oversized = false): void {
    if (this.isBroken) return;
    this.isBroken = true;
    this.emit('broken', reason, oversized);
  }
}
