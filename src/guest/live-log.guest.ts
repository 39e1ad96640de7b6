// Live log lines: what a call writes, cut into lines while it runs, so that the
// host can show them before the call ends (GET /v1/logs?follow=1). A second,
// best-effort copy beside the record's bounded log (log-buffer.guest.ts): at
// most `limitBytes` a call, then one marker line. Batches leave every
// LIVE_FLUSH_MS, at once past LIVE_BATCH_BYTES, and a call's last batch
// (with its unfinished line) just before its result, on the same channel.
// Used by the Node agent and the isolate pool (both Node; the isolate runtime
// itself only hands raw text to the pool).
import { utf8Length } from './base64.guest.ts';
import type { LiveLine } from './protocol.ts';

export const LIVE_FLUSH_MS = 100;
const LIVE_BATCH_BYTES = 32 * 1024;
/** A line longer than this is sent in pieces (and an unfinished one once it gets this long). */
const MAX_LINE_CHARS = 16 * 1024;

/** One call's lines: split at newlines, an unfinished line held until it ends (or the call does), cut at the cap. */
export class LiveLines {
  private partial = '';
  private partialTs = 0;
  private bytes = 0;
  private cut = false;
  pending: LiveLine[] = [];
  pendingBytes = 0;

  constructor(private readonly limitBytes: number) {}

  add(text: string, now: number): void {
    if (this.cut) return;
    let start = 0;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
      const line = this.partial + text.slice(start, nl);
      this.push(line, this.partial ? this.partialTs : now);
      this.partial = '';
      start = nl + 1;
    }
    if (start >= text.length) return;
    if (!this.partial) this.partialTs = now;
    this.partial += text.slice(start);
    if (this.partial.length >= MAX_LINE_CHARS) {
      this.push(this.partial, this.partialTs);
      this.partial = '';
    }
  }

  /** The call is over: an unfinished last line goes too. */
  end(): void {
    if (this.partial) this.push(this.partial, this.partialTs);
    this.partial = '';
  }

  take(): LiveLine[] {
    const lines = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    return lines;
  }

  private push(line: string, ts: number): void {
    for (let at = 0; at < line.length || at === 0; at += MAX_LINE_CHARS) {
      if (this.cut) return;
      const piece = line.length > MAX_LINE_CHARS ? line.slice(at, at + MAX_LINE_CHARS) : line;
      const size = utf8Length(piece) + 1;
      if (this.bytes + size > this.limitBytes) {
        this.cut = true;
        const note = `[nimbus: live log cut after ${this.bytes} bytes; the activation record keeps its own copy]`;
        this.pending.push({ ts, line: note });
        return;
      }
      this.bytes += size;
      this.pendingBytes += size;
      this.pending.push({ ts, line: piece });
    }
  }
}

/** The live lines of every call running in one sandbox, sent in batches through `send`. */
export class LiveBatcher {
  private readonly calls = new Map<string, LiveLines>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly limitBytes: number,
    private readonly send: (id: string, lines: LiveLine[]) => void,
  ) {}

  open(id: string): void {
    this.calls.set(id, new LiveLines(this.limitBytes));
  }

  write(id: string, text: string): void {
    const lines = this.calls.get(id);
    if (!lines) return;
    lines.add(text, Date.now());
    if (lines.pendingBytes >= LIVE_BATCH_BYTES) this.send(id, lines.take());
    else if (lines.pending.length && !this.timer) this.timer = setTimeout(() => this.flush(), LIVE_FLUSH_MS);
  }

  /** The call answers: its last lines leave now, ahead of its result. */
  close(id: string): void {
    const lines = this.calls.get(id);
    if (!lines) return;
    this.calls.delete(id);
    lines.end();
    if (lines.pending.length) this.send(id, lines.take());
  }

  /** Sends what every call has pending (finished lines only). */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const [id, lines] of this.calls) if (lines.pending.length) this.send(id, lines.take());
  }
}
