// The dashboard's only way to the API: fetch on the same origin with the
// user's key (Authorization: Bearer, kept in sessionStorage, never in a URL)
// and the namespace the user picked (x-nimbus-namespace). A 401 asks for a
// key, or another one (the layout shows the prompt while keyWanted).

const KEY = 'nimbus.key';
const NAMESPACE = 'nimbus.namespace';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** The answer as sent: a failed invoke's headers name its activation. */
    readonly body?: unknown,
    readonly headers?: Headers,
  ) {
    super(message);
  }
}

type Listener = () => void;
const listeners = new Set<Listener>();
let keyWanted = false;

/** The key and namespace of this tab, and whether the server asked for a key it lacks (or refused the one it had). */
export const session = {
  get key(): string {
    return sessionStorage.getItem(KEY) ?? '';
  },
  get namespace(): string {
    return sessionStorage.getItem(NAMESPACE) ?? '';
  },
  get keyWanted(): boolean {
    return keyWanted;
  },
  setKey(key: string): void {
    if (key) sessionStorage.setItem(KEY, key.trim());
    else sessionStorage.removeItem(KEY);
    keyWanted = false;
    changed();
  },
  setNamespace(namespace: string): void {
    if (namespace) sessionStorage.setItem(NAMESPACE, namespace.trim());
    else sessionStorage.removeItem(NAMESPACE);
    changed();
  },
  subscribe(listener: Listener): () => void {
    listeners.add(listener);
    return () => listeners.delete(listener);
  },
};

function changed(): void {
  for (const l of listeners) l();
}

export interface Answer<T> {
  status: number;
  headers: Headers;
  body: T;
}

/** Sends one request; any status of 400 and above is an ApiError with the server's code and message. */
export async function request<T = unknown>(method: string, path: string, body?: unknown): Promise<Answer<T>> {
  const headers: Record<string, string> = {};
  if (session.key) headers.authorization = `Bearer ${session.key}`;
  if (session.namespace) headers['x-nimbus-namespace'] = session.namespace;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // Not JSON (a function's plain-text result): keep the text.
  }
  if (r.status === 401) {
    keyWanted = true;
    changed();
  }
  if (r.status >= 400) {
    const error = (parsed as { error?: { code?: string; message?: string } } | undefined)?.error;
    throw new ApiError(r.status, error?.code ?? 'error', error?.message ?? (text || r.statusText), parsed, r.headers);
  }
  return { status: r.status, headers: r.headers, body: parsed as T };
}

export const get = async <T>(path: string): Promise<T> => (await request<T>('GET', path)).body;

/** A query string of the parameters that are set. */
export function query(params: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}
