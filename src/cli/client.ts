// The CLI's HTTP client for the nimbus API: NIMBUS_URL, NIMBUS_API_KEY and NIMBUS_NAMESPACE,
// JSON in and out, API errors turned into one clear line.
import { DEFAULTS } from '../config/options.ts';

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

export interface ApiResponse {
  status: number;
  headers: Headers;
  body: unknown;
  text: string;
}

/** Where `nimbus serve` listens when started without flags: the URL the client verbs use unless NIMBUS_URL says otherwise. */
export const DEFAULT_URL = `http://${DEFAULTS.host.includes(':') ? `[${DEFAULTS.host}]` : DEFAULTS.host}:${DEFAULTS.port}`;

export function apiBase(): string {
  return (process.env.NIMBUS_URL || DEFAULT_URL).replace(/\/+$/, '');
}

export async function api(
  method: string,
  path: string,
  body?: { json?: unknown; raw?: Buffer; type?: string },
  headers: Record<string, string> = {},
): Promise<ApiResponse> {
  const h: Record<string, string> = { ...headers };
  if (process.env.NIMBUS_API_KEY) h.authorization = `Bearer ${process.env.NIMBUS_API_KEY}`;
  // The namespace root acts in (a namespace key has its own and may omit it).
  if (process.env.NIMBUS_NAMESPACE && !h['x-nimbus-namespace']) h['x-nimbus-namespace'] = process.env.NIMBUS_NAMESPACE;
  let payload: BodyInit | undefined;
  if (body?.json !== undefined) {
    h['content-type'] = 'application/json';
    payload = JSON.stringify(body.json);
  } else if (body?.raw) {
    h['content-type'] = body.type ?? 'application/octet-stream';
    payload = new Uint8Array(body.raw);
  }
  let res: Response;
  try {
    res = await fetch(`${apiBase()}${path}`, { method, headers: h, body: payload });
  } catch (e) {
    throw new CliError(
      `cannot reach nimbus at ${apiBase()} (${(e as Error).cause ?? (e as Error).message}); start it with \`nimbus serve\` or set NIMBUS_URL`,
      3,
    );
  }
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    /* not JSON: keep the text */
  }
  return { status: res.status, headers: res.headers, body: parsed, text };
}

/** Throws a CliError for an error response, with the API's code and message. */
export function check(res: ApiResponse): ApiResponse {
  if (res.status < 400) return res;
  const err = (res.body as { error?: { code?: string; message?: string; activationId?: string } } | null)?.error;
  const id = err?.activationId ? ` (activation ${err.activationId}; see \`nimbus logs ${err.activationId}\`)` : '';
  throw new CliError(
    err ? `${err.code}: ${err.message}${id}` : `HTTP ${res.status}: ${res.text.slice(0, 500)}`,
    res.status === 401 ? 4 : 1,
  );
}

export function print(value: unknown): void {
  process.stdout.write(`${typeof value === 'string' ? value : JSON.stringify(value, null, 2)}\n`);
}
