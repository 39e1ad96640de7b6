// `nimbus logs <function> [--follow]`: a function's recent log lines, or with
// --follow its lines as its calls write them (GET /v1/logs?follow=1, read as
// Server-Sent Events), each printed as "<time> <activation id> <line>".
// `nimbus logs <activation id>` still prints one activation's logs: an id
// begins with a digit, a function name never does.
import type { Command } from 'commander';
import { api, apiBase, check, CliError, print } from './client.ts';

interface LineEvent {
  activationId: string;
  time: string;
  line: string;
}

const ACTIVATION_ID = /^\d[0-9a-f]{31}$/;

const show = (e: LineEvent) => `${e.time} ${e.activationId} ${e.line}`;

async function activationLogs(id: string): Promise<void> {
  const a = check(await api('GET', `/v1/activations/${encodeURIComponent(id)}`)).body as {
    logs: string;
    error: { code: string; message: string } | null;
  };
  process.stdout.write(a.logs);
  if (a.error) process.stderr.write(`${a.error.code}: ${a.error.message}\n`);
}

async function recent(fn: string, limit: number | undefined): Promise<void> {
  const q = new URLSearchParams({ function: fn });
  if (limit) q.set('limit', String(limit));
  const { lines } = check(await api('GET', `/v1/logs?${q}`)).body as { lines: LineEvent[] };
  if (lines.length) print(lines.map(show).join('\n'));
  else process.stderr.write(`no log lines yet from ${fn}'s recent activations\n`);
}

async function follow(fn: string): Promise<void> {
  const headers: Record<string, string> = { accept: 'text/event-stream' };
  if (process.env.NIMBUS_API_KEY) headers.authorization = `Bearer ${process.env.NIMBUS_API_KEY}`;
  const url = `${apiBase()}/v1/logs?${new URLSearchParams({ function: fn, follow: '1' })}`;
  let res: Response;
  try {
    res = await fetch(url, { headers });
  } catch (e) {
    throw new CliError(`cannot reach nimbus at ${apiBase()} (${(e as Error).cause ?? (e as Error).message})`, 3);
  }
  if (res.status !== 200 || !res.body) {
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      /* keep the text */
    }
    check({ status: res.status, headers: res.headers, body, text });
    throw new CliError(`HTTP ${res.status}: expected a log stream`);
  }
  process.stderr.write(`following ${fn} (Ctrl-C to stop)\n`);
  const decoder = new TextDecoder();
  let buffered = '';
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buffered += decoder.decode(chunk, { stream: true });
    for (let end = buffered.indexOf('\n\n'); end >= 0; end = buffered.indexOf('\n\n')) {
      const event = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      if (event.startsWith('data: ')) print(show(JSON.parse(event.slice(6)) as LineEvent));
    }
  }
  process.stderr.write('the log stream ended (the front end closed it)\n');
}

export function registerLogsCommand(program: Command): void {
  program
    .command('logs <function-or-activation>')
    .description("a function's recent log lines (--follow: as they are written), or one activation's logs")
    .option('-f, --follow', 'keep printing lines as the function writes them')
    .option('--limit <n>', 'how many recent lines (1-1000, default 100)', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1 || n > 1000) throw new CliError(`--limit expects 1 to 1000, got "${v}"`, 2);
      return n;
    })
    .action(async (target: string, o: { follow?: boolean; limit?: number }) => {
      if (ACTIVATION_ID.test(target)) {
        if (o.follow) throw new CliError(`--follow takes a function name; ${target} is an activation id`, 2);
        return activationLogs(target);
      }
      return o.follow ? follow(target) : recent(target, o.limit);
    });
}
