// A small client for QMP, QEMU's JSON control protocol, over a unix socket:
// commands with ids, their answers, and asynchronous events (STOP, RESUME,
// SHUTDOWN, MIGRATION...). Used to start, stop, save, restore, migrate and
// balloon a VM.
import { EventEmitter } from 'node:events';
import net from 'node:net';

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  command: string;
}

export interface QmpEvent {
  event: string;
  data?: Record<string, unknown>;
}

export class QmpError extends Error {
  constructor(
    readonly command: string,
    readonly errorClass: string,
    desc: string,
  ) {
    super(`QMP ${command}: ${desc}`);
  }
}

export class QmpClient extends EventEmitter<{ event: [QmpEvent]; close: [] }> {
  private buffered = '';
  private nextId = 1;
  private readonly pending = new Map<string, Pending>();
  private closed = false;

  private constructor(private readonly socket: net.Socket) {
    super();
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.onData(chunk));
    socket.on('error', () => this.onClose());
    socket.on('close', () => this.onClose());
  }

  /** Connects to a QMP socket that QEMU listens on, reads its greeting and leaves negotiation mode. */
  static async connect(socket: net.Socket): Promise<QmpClient> {
    const greeting = await new Promise<string>((resolve, reject) => {
      let text = '';
      const onData = (c: Buffer) => {
        text += c.toString('utf8');
        const newline = text.indexOf('\n');
        if (newline < 0) return;
        socket.off('data', onData);
        socket.off('close', onClose);
        if (text.length > newline + 1) socket.unshift(Buffer.from(text.slice(newline + 1)));
        resolve(text.slice(0, newline));
      };
      const onClose = () => reject(new Error('QEMU closed the QMP socket before its greeting'));
      socket.on('data', onData);
      socket.once('close', onClose);
    });
    if (!greeting.includes('"QMP"')) throw new Error(`unexpected QMP greeting: ${greeting.slice(0, 200)}`);
    const client = new QmpClient(socket);
    await client.execute('qmp_capabilities');
    return client;
  }

  execute<T = unknown>(command: string, args?: Record<string, unknown>): Promise<T> {
    if (this.closed) return Promise.reject(new Error(`QMP ${command}: QEMU's monitor is closed`));
    const id = `n${this.nextId++}`;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, command });
      this.socket.write(`${JSON.stringify({ execute: command, ...(args ? { arguments: args } : {}), id })}\n`);
    });
  }

  /** Resolves with the next event of that name (or rejects after timeoutMs). */
  waitEvent(name: string, timeoutMs: number): Promise<QmpEvent> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.off('event', onEvent);
        reject(new Error(`no QMP ${name} event within ${timeoutMs} ms`));
      }, timeoutMs);
      const onEvent = (e: QmpEvent) => {
        if (e.event !== name) return;
        clearTimeout(timer);
        this.off('event', onEvent);
        resolve(e);
      };
      this.on('event', onEvent);
    });
  }

  close(): void {
    this.socket.destroy();
    this.onClose();
  }

  private onData(chunk: string): void {
    this.buffered += chunk;
    let newline: number;
    while ((newline = this.buffered.indexOf('\n')) >= 0) {
      const line = this.buffered.slice(0, newline).trim();
      this.buffered = this.buffered.slice(newline + 1);
      if (line) this.onMessage(JSON.parse(line) as Record<string, unknown>);
    }
  }

  private onMessage(message: Record<string, unknown>): void {
    if (typeof message.event === 'string') {
      this.emit('event', { event: message.event, data: message.data as Record<string, unknown> | undefined });
      return;
    }
    const id = typeof message.id === 'string' ? message.id : undefined;
    const pending = id ? this.pending.get(id) : undefined;
    if (!id || !pending) return;
    this.pending.delete(id);
    const error = message.error as { class?: string; desc?: string } | undefined;
    if (error) pending.reject(new QmpError(pending.command, error.class ?? 'GenericError', error.desc ?? 'failed'));
    else pending.resolve(message.return);
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.pending.values()) p.reject(new Error(`QMP ${p.command}: QEMU's monitor closed`));
    this.pending.clear();
    this.emit('close');
  }
}
