// Captures what a function writes (console, process.stdout, process.stderr)
// and files it under the activation that wrote it. The agent says which log
// is current (its one AsyncLocalStorage keeps concurrent activations in one
// sandbox apart); output with no current activation goes to the "outside" log
// (module load, stray timers). Each log is capped; what is cut is marked.
import { LogBuffer } from './log-buffer.guest.ts';

/** Where output goes: an activation's log (its record copy and, beside it, its live lines). */
export interface LogSink {
  add(text: string): void;
}

export class LogCapture {
  /** Output written outside any activation. */
  private outside: LogBuffer;

  constructor(
    private readonly limitBytes: number,
    private readonly current: () => LogSink | undefined,
  ) {
    this.outside = new LogBuffer(limitBytes);
  }

  install(): void {
    const capture = (chunk: unknown, encoding?: unknown, cb?: unknown): boolean => {
      const text =
        typeof chunk === 'string'
          ? chunk
          : Buffer.from(chunk as Uint8Array).toString(
              typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8',
            );
      (this.current() ?? this.outside).add(text);
      const done = typeof encoding === 'function' ? encoding : cb;
      if (typeof done === 'function') queueMicrotask(() => (done as () => void)());
      return true;
    };
    process.stdout.write = capture as typeof process.stdout.write;
    process.stderr.write = capture as typeof process.stderr.write;
  }

  /** A new log for one activation, capped like every other. */
  newLog(): LogBuffer {
    return new LogBuffer(this.limitBytes);
  }

  /** Takes (and resets) what was written outside activations. */
  takeOutside(): string {
    const text = this.outside.text();
    this.outside = new LogBuffer(this.limitBytes);
    return text;
  }
}
