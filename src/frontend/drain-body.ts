// An answer sent before its request's body was read (a refusal in a hook: a
// foreign Host, a missing key; a GET or HEAD, whose body fastify never reads)
// goes once the rest of that body has arrived and been dropped. Node closes a
// connection right after the answer when the client asked it to, and closing a
// socket with bytes still unread sends a reset: a client still writing its
// body could then see ECONNRESET instead of the answer. Bodies over the route's
// limit are not waited for (their 413 goes at once), nor is a body still
// coming after DRAIN_MS.
import type { FastifyReply, FastifyRequest } from 'fastify';

/** How long an answer waits for the rest of an unread body, ms. */
const DRAIN_MS = 2000;

type Done = (error: null, payload: unknown) => void;

/** fastify onSend hook: holds the answer until the request's unread body has been read and dropped. */
export function drainUnreadBody(request: FastifyRequest, _reply: FastifyReply, payload: unknown, done: Done): void {
  afterUnreadBody(request, () => done(null, payload));
}

/** Runs `then` once the request's unread body has been read and dropped (at once if there is none). */
export function afterUnreadBody(request: FastifyRequest, then: () => void): void {
  const req = request.raw;
  // Complete: the whole request was read off the socket (what is left in node's buffer is dropped on close).
  if (req.complete || req.destroyed) return then();
  const limit = request.routeOptions?.bodyLimit ?? Infinity;
  if (Number(req.headers['content-length'] ?? 0) > limit) return then();
  let seen = 0;
  const finish = () => {
    clearTimeout(timer);
    req.off('data', count).off('end', finish).off('error', finish).off('close', finish);
    then();
  };
  const count = (chunk: Buffer) => {
    seen += chunk.length;
    if (seen > limit) finish();
  };
  const timer = setTimeout(finish, DRAIN_MS);
  req.on('data', count).once('end', finish).once('error', finish).once('close', finish);
  req.resume();
}
