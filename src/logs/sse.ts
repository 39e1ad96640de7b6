// One follower's Server-Sent Events stream: each live line is an event whose
// data is JSON {activationId, function, time, line}; a comment every 15 s
// keeps proxies from closing an idle stream; it ends when the client goes or
// the front end stops. A client that reads slower than the lines come loses
// lines (never the front end's memory): past 1 MB unsent, lines are dropped
// and a comment says how many.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { LiveLogHub } from './hub.ts';
import type { LiveLogMessage } from './messages.ts';

export const HEARTBEAT_MS = 15_000;
const MAX_UNSENT_BYTES = 1024 * 1024;

export async function streamLogs(
  request: FastifyRequest,
  reply: FastifyReply,
  hub: LiveLogHub,
  qualifiedName: string,
  shownName: string,
  /** A namespace key's follower, held to its namespace's share of the places (logs/hub.ts). */
  shared = false,
): Promise<void> {
  const raw = reply.raw;
  let started = false;
  let dropped = 0;
  const early: LiveLogMessage[] = [];
  const write = (m: LiveLogMessage) => {
    if (raw.writableLength > MAX_UNSENT_BYTES) {
      dropped += m.lines.length;
      return;
    }
    let out = dropped ? `: nimbus dropped ${dropped} lines (the client read too slowly)\n\n` : '';
    dropped = 0;
    for (const l of m.lines) {
      const event = {
        activationId: m.activationId,
        function: shownName,
        time: new Date(l.ts).toISOString(),
        line: l.line,
      };
      out += `data: ${JSON.stringify(event)}\n\n`;
    }
    raw.write(out);
  };
  // Subscribed before the answer starts: a client that has the headers sees every line from then on.
  const stop = await hub.follow(
    qualifiedName,
    {
      deliver: (m) => (started ? write(m) : early.push(m)),
      end: () => raw.end(),
    },
    shared,
  );
  reply.hijack();
  raw.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    'x-content-type-options': 'nosniff',
    // nginx (deploy/nginx.conf) would otherwise buffer the stream.
    'x-accel-buffering': 'no',
  });
  raw.write(`: following ${shownName}\n\n`);
  started = true;
  for (const m of early.splice(0)) write(m);
  const heartbeat = setInterval(() => raw.write(': keep-alive\n\n'), HEARTBEAT_MS);
  heartbeat.unref();
  const done = () => {
    clearInterval(heartbeat);
    stop();
  };
  request.raw.on('close', done);
  raw.on('close', done);
  if (raw.destroyed) done();
}
