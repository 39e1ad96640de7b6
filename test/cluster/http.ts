// Small HTTP helpers for cluster tests: JSON requests against a front end,
// deploy, invoke, and waiting for an activation to settle (bounded).
import { toTestResponse, type TestResponse } from '../helpers/platform.ts';

export type Reply = TestResponse;

export async function call(
  base: string,
  method: string,
  p: string,
  body?: unknown,
  headers: Record<string, string> = {},
  timeoutMs = 30_000,
): Promise<Reply> {
  const res = await fetch(`${base}${p}`, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  return toTestResponse(res);
}

export const deploy = (base: string, name: string, code: string, config: Record<string, unknown> = {}) =>
  call(base, 'PUT', `/v1/functions/${name}`, { runtime: 'nodejs', code, ...config });

export const invoke = (
  base: string,
  name: string,
  event: unknown = {},
  query = '',
  headers: Record<string, string> = {},
) => call(base, 'POST', `/v1/functions/${name}/invoke${query}`, event, headers);

/**
 * Polls an activation until it is no longer queued or running, or until it
 * has the given status (a failed attempt shows its error until the retry is queued).
 */
export async function settled(base: string, id: string, timeoutMs = 30_000, status?: string): Promise<any> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const r = await call(base, 'GET', `/v1/activations/${id}`);
    if (r.status === 200 && (status ? r.json.status === status : !['queued', 'running'].includes(r.json.status)))
      return r.json;
    if (Date.now() > until)
      throw new Error(`activation ${id} did not settle in ${timeoutMs} ms: ${r.text.slice(0, 300)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
