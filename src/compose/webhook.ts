// Webhook destinations: the platform POSTs an async activation's record to a
// user's URL. The platform makes this request itself, so it goes through the
// same egress policy as a function's fetch (public internet only, unless the
// operator allowed ranges with --egress-allow): a webhook to 127.0.0.1:5432 or
// to the cloud's metadata address is refused, never sent. The body is signed:
// `x-nimbus-signature: sha256=<hex HMAC-SHA256 of the body under the secret>`,
// so the receiver can tell nimbus sent it. Retried with backoff on network
// errors, 429 and 5xx; every attempt's outcome is kept for the record.
import { createHmac } from 'node:crypto';
import { fetch, type Agent } from 'undici';

export interface WebhookAttempt {
  at: string;
  /** The HTTP status, or null when no answer came (refused, unreachable, timed out). */
  status: number | null;
  error?: string;
}

export interface WebhookOutcome {
  delivered: boolean;
  attempts: WebhookAttempt[];
}

export interface WebhookOptions {
  agent: Agent;
  /** Attempts in all, first included. @default 4 */
  attempts?: number;
  /** Wait before the second attempt, doubling after. @default 500 */
  backoffMs?: number;
  /** Time for one attempt. @default 10000 */
  timeoutMs?: number;
}

export function signature(body: string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** Whether a failed attempt is worth repeating: no answer, throttled or a server error. */
const retryable = (a: WebhookAttempt) => a.status === null || a.status === 429 || a.status >= 500;

export async function postWebhook(
  url: string,
  secret: string | undefined,
  payload: unknown,
  o: WebhookOptions,
): Promise<WebhookOutcome> {
  const body = JSON.stringify(payload);
  const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'nimbus-destination' };
  if (secret !== undefined) headers['x-nimbus-signature'] = signature(body, secret);
  const attempts: WebhookAttempt[] = [];
  const max = o.attempts ?? 4;
  for (let i = 0; i < max; i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, (o.backoffMs ?? 500) * 2 ** (i - 1)));
    const attempt = await once(url, body, headers, o);
    attempts.push(attempt);
    if (attempt.status !== null && attempt.status < 300) return { delivered: true, attempts };
    if (!retryable(attempt) || attempt.error?.startsWith('egress refused')) break;
  }
  return { delivered: false, attempts };
}

async function once(
  url: string,
  body: string,
  headers: Record<string, string>,
  o: WebhookOptions,
): Promise<WebhookAttempt> {
  const at = new Date().toISOString();
  try {
    const res = await fetch(url, {
      method: 'POST',
      body,
      headers,
      dispatcher: o.agent,
      redirect: 'manual',
      signal: AbortSignal.timeout(o.timeoutMs ?? 10_000),
    });
    await res.body?.cancel().catch(() => undefined);
    return res.status < 300 ? { at, status: res.status } : { at, status: res.status, error: `answered ${res.status}` };
  } catch (e) {
    const err = e as Error & { cause?: Error };
    const cause = err.cause?.message ?? err.message;
    return { at, status: null, error: cause.slice(0, 300) };
  }
}
