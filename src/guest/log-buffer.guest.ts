// One activation's log, capped in UTF-8 bytes: what is cut is counted and
// marked. Runtime-neutral (no Buffer), so the Node agent and the isolate
// runtime keep logs the same way and mark truncation alike.
import { utf8Length } from './base64.guest.ts';

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
      const headSize = utf8Length(head);
      this.chunks.push(head);
      this.bytes += headSize;
      this.dropped += size - headSize;
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
