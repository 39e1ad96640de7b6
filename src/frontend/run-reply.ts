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
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-authenticate', 'proxy-authorization', 'content-length']);

function platformHeaders(run: RunReply): Record<string, string> {
  const a = run.activation;
  return { 'x-nimbus-activation-id': a.id, 'x-nimbus-cold-start': String(a.cold === true), 'x-nimbus-function-version': String(a.functionVersion) };
}

/**
 * The headers a function may send on its origin: not x-nimbus-* (dropped rather than failing the
 * call, so that a function relaying another nimbus call's answer keeps working), not hop-by-hop
 * headers, nor those its own Connection header names.
 */
export function functionHeaders(headers: Record<string, string>): [string, string][] {
  const named = new Set((headers.connection ?? headers.Connection ?? '').toLowerCase().split(',').map((s) => s.trim()));
  const kept: [string, string][] = [];
  for (const [k, v] of Object.entries(headers)) {
    const key = k.toLowerCase();
    if (!key.startsWith('x-nimbus-') && !HOP_BY_HOP.has(key) && !named.has(key)) kept.push([key, v]);
  }
  return kept;
}

function sendFailure(reply: FastifyReply, run: RunReply): FastifyReply | undefined {
  const a = run.activation;
  if (!a.error) return undefined;
  return sendError(reply, new NimbusError(a.error.code as ErrorCode, a.error.message, { activationId: a.id }), platformHeaders(run));
}

/** On the function origin: the function's status, headers (filtered) and body as it made them. */
export function sendOnFunctionOrigin(reply: FastifyReply, run: RunReply): FastifyReply {
  const failed = sendFailure(reply, run);
  if (failed) return failed;
  const out = run.output;
  if (out?.kind !== 'http') return reply.code(200).headers(platformHeaders(run)).type('application/json').send(JSON.stringify(out?.value ?? null));
  for (const [k, v] of functionHeaders(out.response.headers)) reply.header(k, v);
  return reply.code(out.response.status).headers(platformHeaders(run)).send(Buffer.from(out.response.bodyBase64, 'base64'));
}

/**
 * On the management API: JSON only. A Response from a fetch handler keeps its status; its body
 * goes as it is when the function called it JSON, else as a JSON string; its headers are dropped.
 */
export function sendOnApiOrigin(reply: FastifyReply, run: RunReply): FastifyReply {
  const failed = sendFailure(reply, run);
  if (failed) return failed;
  reply.headers(platformHeaders(run)).type('application/json');
  const out = run.output;
  if (out?.kind === 'http') return reply.code(out.response.status).send(jsonBodyOf(out.response));
  return reply.code(200).send(JSON.stringify(out?.kind === 'value' ? out.value ?? null : null));
}

function jsonBodyOf(response: HttpResponseData): Buffer | string {
  const body = Buffer.from(response.bodyBase64, 'base64');
  const type = Object.entries(response.headers).find(([k]) => k.toLowerCase() === 'content-type')?.[1] ?? '';
  return /[/+]json\b/i.test(type) ? body : JSON.stringify(body.toString('utf8'));
}
