// The API calls of a project deploy, in the project's namespace (the file's
// `namespace:`, else the one the CLI acts in), and how to tell a part the
// server does not have yet (404 "no route", 405) from an object that is absent.
import { api, CliError, type ApiResponse } from '../client.ts';

export class Remote {
  constructor(private readonly namespace: string | undefined) {}

  call(
    method: string,
    path: string,
    body?: { json?: unknown; raw?: Buffer; type?: string },
    headers: Record<string, string> = {},
  ): Promise<ApiResponse> {
    const ns: Record<string, string> = this.namespace ? { 'x-nimbus-namespace': this.namespace } : {};
    return api(method, path, body, { ...ns, ...headers });
  }
}

/** Whether the server has no such route at all (an older nimbus), as opposed to an unknown object. */
export function noRoute(res: ApiResponse): boolean {
  return res.status === 405 || (res.status === 404 && /^no route /.test(errorOf(res).message));
}

export function errorOf(res: ApiResponse): { code: string; message: string } {
  const err = (res.body as { error?: { code?: string; message?: string } } | null)?.error;
  return { code: err?.code ?? `HTTP ${res.status}`, message: err?.message ?? res.text.slice(0, 500) };
}

/** The answer's body, or a CliError naming what was asked and the API's code and message. */
export function ok<T>(res: ApiResponse, what: string): T {
  if (res.status < 400) return res.body as T;
  const { code, message } = errorOf(res);
  throw new CliError(`${what}: ${code}: ${message}`, res.status === 401 ? 4 : 1);
}

/** Says which part of nimbus.yaml this server cannot apply. */
export function unsupported(section: string, route: string, where: string): CliError {
  return new CliError(
    `${where}: this server does not support ${section} yet (${route} answers "no route"); remove that part of the file or upgrade nimbus`,
    1,
  );
}
