// A test's follower of GET /v1/logs?follow=1: reads the Server-Sent Events
// stream with fetch, keeps each event with the time it arrived, and stops
// when asked (the front end sees the client go); and TICKER, the function the
// live-log tests follow.
/** A function that logs `tick 0`, `tick 1`, `tick 2` a second apart (3 s) and returns 'done': what a follower watches. */
export const TICKER = `exports.handler = async () => {
  for (let i = 0; i < 3; i++) {
    console.log('tick ' + i);
    await new Promise((r) => setTimeout(r, 1000));
  }
  return 'done';
};`;

export interface LiveEvent {
  activationId: string;
  function: string;
  time: string;
  line: string;
  /** When this test received it (epoch ms). */
  receivedAt: number;
}

export interface Following {
  status: number;
  headers: Headers;
  contentType: string | null;
  events: LiveEvent[];
  /** Comments (": ...") the stream carried. */
  comments: string[];
  /** Whether the front end ended the stream. */
  ended: boolean;
  /** The error body when the answer was not a stream. */
  body?: unknown;
  waitFor(what: string, check: (events: LiveEvent[]) => boolean, timeoutMs?: number): Promise<void>;
  close(): void;
}

export async function follow(url: string, fn: string, headers: Record<string, string> = {}): Promise<Following> {
  const abort = new AbortController();
  const res = await fetch(`${url}/v1/logs?function=${encodeURIComponent(fn)}&follow=1`, {
    headers,
    signal: abort.signal,
  });
  const f: Following = {
    status: res.status,
    headers: res.headers,
    contentType: res.headers.get('content-type'),
    events: [],
    comments: [],
    ended: false,
    async waitFor(what, check, timeoutMs = 20_000) {
      const end = Date.now() + timeoutMs;
      while (!check(f.events)) {
        if (Date.now() > end) throw new Error(`timed out waiting until ${what}; got ${JSON.stringify(f.events)}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    close: () => abort.abort(),
  };
  if (res.status !== 200 || !res.body) {
    f.body = await res.json().catch(() => undefined);
    return f;
  }
  void (async () => {
    const decoder = new TextDecoder();
    let buffered = '';
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffered += decoder.decode(chunk, { stream: true });
        for (let end = buffered.indexOf('\n\n'); end >= 0; end = buffered.indexOf('\n\n')) {
          const block = buffered.slice(0, end);
          buffered = buffered.slice(end + 2);
          if (block.startsWith(':')) f.comments.push(block.slice(1).trim());
          else if (block.startsWith('data: '))
            f.events.push({ ...(JSON.parse(block.slice(6)) as LiveEvent), receivedAt: Date.now() });
        }
      }
      f.ended = true;
    } catch {
      /* aborted */
    }
  })();
  return f;
}
