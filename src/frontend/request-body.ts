// Reading request bodies: every body arrives as raw bytes (one parser for all
// content types); these helpers turn them into events, JSON or HTTP inputs.
import type { FastifyRequest } from 'fastify';
import type { HttpRequestData } from '../guest/protocol.ts';
import { NimbusError } from '../shared/errors.ts';

export function rawBody(request: FastifyRequest): Buffer {
  return Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
}

export function isJson(request: FastifyRequest): boolean {
  const type = request.headers['content-type'] ?? '';
  return type === '' || /[/+]json\b/.test(type);
}

export function parseJson(body: Buffer, what: string): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (e) {
    throw new NimbusError('bad_request', `${what} is not valid JSON (${(e as Error).message}); send a JSON document with content-type application/json`);
  }
}

/**
 * The event of an invoke call: JSON bodies parsed, empty bodies {}, form bodies
 * (curl's default) as JSON when they are JSON else as fields, other text as a string.
 */
export function eventOf(request: FastifyRequest): unknown {
  const body = rawBody(request);
  if (body.length === 0) return {};
  if (isJson(request)) return parseJson(body, 'the request body');
  const text = body.toString('utf8');
  if ((request.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return Object.fromEntries(new URLSearchParams(text));
    }
  }
  return text;
}

/** The HTTP request a function route passes on: path below /fn/:name, headers, body. */
export function httpInputOf(request: FastifyRequest, prefix: string): HttpRequestData {
  const url = request.url.slice(prefix.length) || '/';
  const headers: Record<string, string> = { 'x-forwarded-prefix': prefix };
  for (const [k, v] of Object.entries(request.headers)) {
    if (v !== undefined && k !== 'authorization') headers[k] = Array.isArray(v) ? v.join(', ') : v;
  }
  return { method: request.method, url: url.startsWith('/') ? url : `/${url}`, headers, bodyBase64: rawBody(request).toString('base64') };
}
