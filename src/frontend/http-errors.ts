// The one place where error codes become HTTP statuses, and where every error
// (ours, fastify's, unexpected ones) becomes the JSON body {error: {code, message}}.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { NimbusError, isNimbusError, type ErrorCode } from '../shared/errors.ts';

export const HTTP_STATUS: Record<ErrorCode, number> = {
  bad_request: 400,
  compile_error: 400,
  bad_archive: 400,
  unauthorized: 401,
  bad_host: 421,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  payload_too_large: 413,
  throttled: 429,
  function_error: 502,
  function_crashed: 502,
  memory_exhausted: 502,
  result_too_large: 502,
  timeout: 504,
  unavailable: 503,
  not_supported: 409,
  internal: 500,
};

export function statusFor(code: string): number {
  return HTTP_STATUS[code as ErrorCode] ?? 500;
}

/** Turns fastify's own errors (body too large, bad content) into ours. */
export function toNimbusError(e: unknown): NimbusError {
  if (isNimbusError(e)) return e;
  const f = e as FastifyError;
  switch (f.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new NimbusError('payload_too_large', `request body is over the ${f.message.match(/\d+/)?.[0] ?? 'configured'}-byte limit; send less or raise bodyLimitBytes`);
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new NimbusError('bad_request', f.message);
  }
  if (typeof f.statusCode === 'number' && f.statusCode >= 400 && f.statusCode < 500) return new NimbusError('bad_request', f.message);
  return new NimbusError('internal', `internal error: ${(e as Error)?.message ?? String(e)}`);
}

export function sendError(reply: FastifyReply, error: NimbusError, extraHeaders: Record<string, string> = {}): FastifyReply {
  const status = statusFor(error.code);
  if (error.details.retryAfterSeconds !== undefined) reply.header('retry-after', String(error.details.retryAfterSeconds));
  for (const [k, v] of Object.entries(extraHeaders)) reply.header(k, v);
  // Also on the function origin, where a platform error must not be sniffed into something else.
  reply.header('x-content-type-options', 'nosniff');
  const { stack: _stack, logs: _logs, ...details } = error.details;
  return reply.code(status).type('application/json').send({ error: { code: error.code, message: error.message, ...details } });
}

export function errorHandler(e: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const error = toNimbusError(e);
  if (error.code === 'internal') request.log.error({ err: e, reqId: request.id }, 'internal error');
  return sendError(reply, error);
}
