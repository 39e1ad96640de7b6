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

/**
 * How deep a JSON document the API takes. Deeper than a few thousand levels, the platform could not
 * pass it on (JSON.stringify, the store and the sandboxes recurse); no real event nests this deep.
 */
export const MAX_JSON_DEPTH = 512;

/** The deepest nesting of arrays and objects in JSON text (strings skipped), counted up to limit + 1. */
export function jsonDepth(body: Buffer, limit = MAX_JSON_DEPTH): number {
  let depth = 0;
  let deepest = 0;
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c === 0x22) i = stringEnd(body, i);
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > deepest && (deepest = depth) > limit) return deepest;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return deepest;
}

/** The index of the quote that closes the string opened at `open` (found natively: large code strings are common). */
function stringEnd(body: Buffer, open: number): number {
  for (let q = body.indexOf(0x22, open + 1); q !== -1; q = body.indexOf(0x22, q + 1)) {
    let backslashes = 0;
    while (body[q - 1 - backslashes] === 0x5c) backslashes++;
    if (backslashes % 2 === 0) return q;
  }
  return body.length;
}

export function parseJson(body: Buffer, what: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch (e) {
    throw new NimbusError(
      'bad_request',
      `${what} is not valid JSON (${(e as Error).message}); send a JSON document with content-type application/json`,
    );
  }
  // Checked after parsing, so that text which is not JSON at all gets the message above.
  if (typeof value === 'object' && value !== null && jsonDepth(body) > MAX_JSON_DEPTH) {
    throw new NimbusError(
      'bad_request',
      `${what} nests arrays and objects more than ${MAX_JSON_DEPTH} levels deep; send a flatter document`,
    );
  }
  return value;
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
      JSON.parse(text);
    } catch {
      return Object.fromEntries(new URLSearchParams(text));
    }
    return parseJson(body, 'the request body');
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
  return {
    method: request.method,
    url: url.startsWith('/') ? url : `/${url}`,
    headers,
    bodyBase64: rawBody(request).toString('base64'),
  };
}
