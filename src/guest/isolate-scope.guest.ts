// Which activation an isolate is running right now. V8 alone has no async
// context, so the runtime attributes every entry from the pool (a call, a
// timer, a fetch answer) to the activation that caused it; microtasks run at
// the end of that same entry and inherit it. Each activation's log is capped
// in UTF-8 bytes, with the same truncation marker as the Node agent.

/** UTF-8 length of a string without encoding it. */
export function utf8Length(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3;
  }
  return n;
}

/** The longest prefix of `text` that fits in `bytes` UTF-8 bytes. */
function headBytes(text: string, bytes: number): string {
  let lo = 0;
  let hi = Math.min(text.length, bytes);
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (utf8Length(text.slice(0, mid)) <= bytes) lo = mid;
    else hi = mid - 1;
  }
  return text.slice(0, lo);
}

export class LogBuffer {
  private chunks: string[] = [];
  private bytes = 0;
  private dropped = 0;
  constructor(private readonly limitBytes: number) {}

  add(text: string): void {
    const size = utf8Length(text);
    if (this.dropped === 0 && this.bytes + size <= this.limitBytes) {
      this.chunks.push(text);
      this.bytes += size;
      return;
    }
    if (this.dropped === 0) {
      const head = headBytes(text, this.limitBytes - this.bytes);
      this.chunks.push(head);
      this.bytes += utf8Length(head);
      this.dropped += size - utf8Length(head);
    } else this.dropped += size;
  }

  get truncated(): boolean {
    return this.dropped > 0;
  }

  text(): string {
    const body = this.chunks.join('');
    return this.truncated ? `${body}\n[nimbus: log truncated, ${this.dropped} bytes dropped]\n` : body;
  }
}

export interface Activation {
  id: string;
  deadline: number;
  logs: LogBuffer;
  /** Set once the call has answered: its timers and fetches are dropped. */
  ended: boolean;
  /** Fails the call with an error thrown where no caller could catch it (a timer callback). */
  fail: (error: unknown) => void;
}

export const scope: { current: Activation | undefined; loading: LogBuffer | undefined } = {
  current: undefined,
  loading: undefined,
};

/** The activation that work started now belongs to, if it is still running. */
export function liveActivation(): Activation | undefined {
  const a = scope.current;
  return a && !a.ended ? a : undefined;
}

/** Where console output goes now: the running activation's log, the module load's, or nowhere. */
export function activeLogs(): LogBuffer | undefined {
  return liveActivation()?.logs ?? scope.loading;
}
