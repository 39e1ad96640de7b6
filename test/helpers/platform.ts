// Starts a real embedded platform for a test (port 0, its own temp data dir)
// and offers small HTTP helpers; everything is closed and removed afterwards.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startPlatform, type Platform, type PlatformOptions } from '../../src/platform.ts';

export interface TestPlatform {
  platform: Platform;
  url: string;
  /** The function origin, where ANY /fn/:name/* is served. */
  functionsUrl: string;
  dataDir: string;
  request(method: string, p: string, body?: unknown, headers?: Record<string, string>): Promise<TestResponse>;
  /** A request to the function origin (p starts with /fn/). */
  fnRequest(method: string, p: string, body?: unknown, headers?: Record<string, string>): Promise<TestResponse>;
  deploy(name: string, code: string, config?: Record<string, unknown>): Promise<TestResponse>;
  invoke(name: string, event?: unknown, query?: string): Promise<TestResponse>;
  /** Polls an activation until its status is final (not queued/running). */
  settled(id: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

export interface TestResponse {
  status: number;
  headers: Headers;
  text: string;
  json: any;
}

export async function toTestResponse(res: Response): Promise<TestResponse> {
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

export async function startTestPlatform(options: PlatformOptions = {}): Promise<TestPlatform> {
  const dataDir = options.dataDir ?? (await mkdtemp(path.join(os.tmpdir(), 'nimbus-test-')));
  const platform = await startPlatform({ port: 0, logLevel: 'silent', asyncRetryBaseMs: 100, ...options, dataDir });
  const url = platform.url ?? '';
  const functionsUrl = platform.functionsUrl ?? '';
  const send = async (
    base: string,
    method: string,
    p: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ) => {
    const h: Record<string, string> = { ...headers };
    let payload: BodyInit | undefined;
    if (Buffer.isBuffer(body)) payload = new Uint8Array(body);
    else if (typeof body === 'string') payload = body;
    else if (body !== undefined) {
      payload = JSON.stringify(body);
      h['content-type'] ??= 'application/json';
    }
    return toTestResponse(await fetch(`${base}${p}`, { method, headers: h, body: payload }));
  };
  const request = (method: string, p: string, body?: unknown, headers?: Record<string, string>) =>
    send(url, method, p, body, headers);
  const tp: TestPlatform = {
    platform,
    url,
    functionsUrl,
    dataDir,
    request,
    fnRequest: (method, p, body, headers) => send(functionsUrl, method, p, body, headers),
    deploy: (name, code, config = {}) =>
      request('PUT', `/v1/functions/${name}`, { runtime: 'nodejs', code, ...config }),
    invoke: (name, event = {}, query = '') => request('POST', `/v1/functions/${name}/invoke${query}`, event),
    async settled(id, timeoutMs = 30_000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const r = await request('GET', `/v1/activations/${id}`);
        if (r.status === 200 && !['queued', 'running'].includes(r.json.status)) return r.json;
        if (Date.now() > until)
          throw new Error(`activation ${id} did not settle in ${timeoutMs} ms: ${r.text.slice(0, 300)}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    async close() {
      await platform.close();
      if (!options.dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
  return tp;
}
