// How a function's run becomes an HTTP answer, on either origin. The platform's
// own x-nimbus-* headers are set last and a function can never set one, so a
// client can trust them; on the management API every answer stays JSON (a
// function's headers, cookies and content types belong to its own origin).
import type { FastifyReply } from 'fastify';
import type { RunReply } from '../engine/messages.ts';
import type { HttpResponseData } from '../guest/protocol.ts';
import { NimbusError, type ErrorCode } from '../shared/errors.ts';
import { sendError } from './http-errors.ts';

/** Headers that describe one connection (RFC 9110 §7.6.1), never a function's to set; content-length is ours to compute. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'proxy-authenticate',
  'proxy-authorization',
  'content-length',
]);

function platformHeaders(run: RunReply): Record<string, string> {
  const a = run.activation;
  const headers: Record<string, string> = {
    'x-nimbus-activation-id': a.id,
    'x-nimbus-cold-start': String(a.cold === true),
    'x-nimbus-function-version': String(a.functionVersion),
  };
  // The alias the call came through: with function-version, which side of a canary split answered.
  if (a.alias) headers['x-nimbus-alias'] = a.alias;
  return headers;
}

/**
 * The headers a function may send on its origin: not x-nimbus-* (dropped rather than failing the
 * call, so that a function relaying another nimbus call's answer keeps working), not hop-by-hop
 * headers, nor those its own Connection header names.
 */
export function functionHeaders(headers: Record<string, string>): [string, string][] {
  const named = new Set(
    (headers.connection ?? headers.Connection ?? '')
      .toLowerCase()
      .split(',')
      .map((s) => s.trim()),
  );
  const kept: [string, string][] = [];
  for (const [k, v] of Object.entries(headers)) {
    const key = k.toLowerCase();
    if (!key.startsWith('x-nimbus-') && !HOP_BY_HOP.has(key) && !named.has(key)) kept.push([key, v]);
  }
  return kept;
}

/** RFC 9110 token characters: what a header name may hold. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Printable ASCII, space and tab: a value with CR or LF could forge headers, and other bytes mean different things to different clients. */
const HEADER_VALUE = /^[\t\x20-\x7e]*$/;

/**
 * Why a function's HTTP answer cannot be sent as it is, or undefined if it can. A status outside
 * 200-599 (101 would hand over the connection) or a header Node would refuse to write is the
 * function's error, answered as one, not the platform's.
 */
export function invalidResponse(status: number, headers: [string, string][]): string | undefined {
  if (!Number.isInteger(status) || status < 200 || status > 599) {
    return `the function answered with status ${status}, which is not a final HTTP status; answer with a whole number from 200 to 599`;
  }
  for (const [k, v] of headers) {
    if (!TOKEN.test(k))
      return `the function's response has a header named ${JSON.stringify(k.slice(0, 100))}, which is not a valid header name; use letters, digits and !#$%&'*+-.^_\`|~`;
    if (typeof v !== 'string' || !HEADER_VALUE.test(v)) {
      return `the function's response header "${k}" has a value with CR, LF, another control character or a non-ASCII character; send printable ASCII only (encode other text, e.g. with encodeURIComponent)`;
    }
  }
  return undefined;
}

function sendInvalid(reply: FastifyReply, run: RunReply, message: string): FastifyReply {
  return sendError(
    reply,
    new NimbusError('function_error', message, { activationId: run.activation.id }),
    platformHeaders(run),
  );
}

function sendFailure(reply: FastifyReply, run: RunReply): FastifyReply | undefined {
  const a = run.activation;
  if (!a.error) return undefined;
  return sendError(
    reply,
    new NimbusError(a.error.code as ErrorCode, a.error.message, { activationId: a.id, ...retryAfter(a.error) }),
    platformHeaders(run),
  );
}

/** A throttled record's wait (a sequence step over its namespace's quota), for the Retry-After header. */
function retryAfter(error: object): { retryAfterSeconds?: number } {
  const seconds = (error as { retryAfterSeconds?: unknown }).retryAfterSeconds;
  return typeof seconds === 'number' ? { retryAfterSeconds: seconds } : {};
}

/** On the function origin: the function's status, headers (filtered) and body as it made them. */
export function sendOnFunctionOrigin(reply: FastifyReply, run: RunReply): FastifyReply {
  const failed = sendFailure(reply, run);
  if (failed) return failed;
  const out = run.output;
  if (out?.kind !== 'http')
    return reply
      .code(200)
      .headers(platformHeaders(run))
      .type('application/json')
      .send(JSON.stringify(out?.value ?? null));
  const headers = functionHeaders(out.response.headers);
  const invalid = invalidResponse(out.response.status, headers);
  if (invalid) return sendInvalid(reply, run, invalid);
  for (const [k, v] of headers) reply.header(k, v);
  return reply
    .code(out.response.status)
    .headers(platformHeaders(run))
    .send(Buffer.from(out.response.bodyBase64, 'base64'));
}

/**
 * On the management API: JSON only. A Response from a fetch handler keeps its status; its body
 * goes as it is when the function called it JSON, else as a JSON string; its headers are dropped.
 */
export function sendOnApiOrigin(reply: FastifyReply, run: RunReply): FastifyReply {
  const failed = sendFailure(reply, run);
  if (failed) return failed;
  const out = run.output;
  // The headers are dropped here, but the status is still sent.
  const invalid = out?.kind === 'http' ? invalidResponse(out.response.status, []) : undefined;
  if (invalid) return sendInvalid(reply, run, invalid);
  reply.headers(platformHeaders(run)).type('application/json');
  if (out?.kind === 'http') return reply.code(out.response.status).send(jsonBodyOf(out.response));
  return reply.code(200).send(JSON.stringify(out?.kind === 'value' ? (out.value ?? null) : null));
}

function jsonBodyOf(response: HttpResponseData): Buffer | string {
  const body = Buffer.from(response.bodyBase64, 'base64');
  const type = Object.entries(response.headers).find(([k]) => k.toLowerCase() === 'content-type')?.[1] ?? '';
  return /[/+]json\b/i.test(type) ? body : JSON.stringify(body.toString('utf8'));
}
