// Captures what a function writes (console, process.stdout, process.stderr)
// and files it under the activation that wrote it, using AsyncLocalStorage so
// that concurrent activations in one sandbox keep their logs apart. Each
// activation's log is capped; what is cut is counted and marked.
import { AsyncLocalStorage } from 'node:async_hooks';
import { LogBuffer } from './log-buffer.guest.ts';

export class LogCapture {
  private readonly current = new AsyncLocalStorage<LogBuffer>();
  /** Output written outside any activation (module load, stray timers). */
  private outside: LogBuffer;

  constructor(private readonly limitBytes: number) {
    this.outside = new LogBuffer(limitBytes);
  }

  install(): void {
    const capture = (chunk: unknown, encoding?: unknown, cb?: unknown): boolean => {
      const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString(typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
      (this.current.getStore() ?? this.outside).add(text);
      const done = typeof encoding === 'function' ? encoding : cb;
      if (typeof done === 'function') queueMicrotask(() => (done as () => void)());
      return true;
    };
    process.stdout.write = capture as typeof process.stdout.write;
    process.stderr.write = capture as typeof process.stderr.write;
  }

  run<T>(fn: () => Promise<T>): { buffer: LogBuffer; result: Promise<T> } {
    const buffer = new LogBuffer(this.limitBytes);
    return { buffer, result: this.current.run(buffer, fn) };
  }

  active(): LogBuffer | undefined {
    return this.current.getStore();
  }

  /** Takes (and resets) what was written outside activations. */
  takeOutside(): string {
    const text = this.outside.text();
    this.outside = new LogBuffer(this.limitBytes);
    return text;
  }
}
