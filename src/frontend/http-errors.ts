// The one place where error codes become HTTP statuses, and where every error
// (ours, fastify's, unexpected ones) becomes the JSON body {error: {code, message}}.
import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { NimbusError, isNimbusError, type ErrorCode } from '../shared/errors.ts';

export const HTTP_STATUS: Record<ErrorCode, number> = {
  bad_request: 400,
  compile_error: 400,
  bad_archive: 400,
  unauthorized: 401,
  forbidden: 403,
  bad_host: 421,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  payload_too_large: 413,
  uri_too_long: 414,
  headers_too_large: 431,
  request_timeout: 408,
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
export function toNimbusError(e: unknown, bodyLimit?: number): NimbusError {
  if (isNimbusError(e)) return e;
  const f = e as FastifyError;
  switch (f.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new NimbusError(
        'payload_too_large',
        `request body is over the ${bodyLimit ?? 'configured'}-byte limit; send less or raise bodyLimitBytes`,
      );
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new NimbusError(
        'uri_too_long',
        'a path segment of this URL is too long for any route (function names are at most 64 characters, ids at most 200)',
      );
    case 'FST_ERR_BAD_URL':
      return new NimbusError(
        'bad_request',
        'the URL path is not valid (a malformed %-escape?); percent-encode it as RFC 3986 says',
      );
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new NimbusError(
        'bad_request',
        'the content-type header is not a media type (type/subtype[; parameters]); send e.g. application/json, or none',
      );
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new NimbusError('bad_request', f.message);
  }
  if (typeof f.statusCode === 'number' && f.statusCode >= 400 && f.statusCode < 500)
    return new NimbusError('bad_request', f.message);
  return new NimbusError('internal', `internal error: ${(e as Error)?.message ?? String(e)}`);
}

export function sendError(
  reply: FastifyReply,
  error: NimbusError,
  extraHeaders: Record<string, string> = {},
): FastifyReply {
  const status = statusFor(error.code);
  if (error.details.retryAfterSeconds !== undefined)
    reply.header('retry-after', String(error.details.retryAfterSeconds));
  for (const [k, v] of Object.entries(extraHeaders)) reply.header(k, v);
  // Also on the function origin, where a platform error must not be sniffed into something else.
  reply.header('x-content-type-options', 'nosniff');
  const { stack: _stack, logs: _logs, ...details } = error.details;
  return reply
    .code(status)
    .type('application/json')
    .send({ error: { code: error.code, message: error.message, ...details } });
}

export function errorHandler(e: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const error = toNimbusError(e, request.routeOptions.bodyLimit);
  if (error.code === 'internal') request.log.error({ err: e, reqId: request.id }, 'internal error');
  return sendError(reply, error);
}

/**
 * The answer to a request Node's HTTP parser refused before any route ran (fastify's
 * clientErrorHandler): a raw HTTP response in the same {error: {code, message}} shape, or
 * undefined when nothing can be sent (the connection is gone).
 */
export function clientErrorResponse(e: NodeJS.ErrnoException & { rawPacket?: Buffer }): string | undefined {
  if (e.code === 'ECONNRESET') return undefined;
  let error: NimbusError;
  if (e.code === 'ERR_HTTP_REQUEST_TIMEOUT')
    error = new NimbusError('request_timeout', 'the request was not received in time; send it whole, sooner');
  else if (e.code === 'HPE_HEADER_OVERFLOW') {
    // No line end in what was read: the request line itself (the URL) is what overflowed.
    const urlTooLong = e.rawPacket !== undefined && !e.rawPacket.includes('\r\n');
    error = urlTooLong
      ? new NimbusError(
          'uri_too_long',
          'the URL is longer than this server reads (16 KB with the headers); send the data in the body instead',
        )
      : new NimbusError(
          'headers_too_large',
          'the request line and headers are over the 16 KB this server reads; send fewer or shorter headers',
        );
  } else
    error = new NimbusError(
      'bad_request',
      `malformed HTTP request (${e.code ?? 'parse error'}); send a valid HTTP/1.1 request`,
    );
  const body = JSON.stringify({ error: { code: error.code, message: error.message } });
  const status = statusFor(error.code);
  const head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\ncontent-type: application/json; charset=utf-8\r\nx-content-type-options: nosniff\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n`;
  // The answer to a HEAD has no body (a client would read one as a second response).
  return e.rawPacket?.subarray(0, 5).toString('latin1') === 'HEAD ' ? head : head + body;
}
