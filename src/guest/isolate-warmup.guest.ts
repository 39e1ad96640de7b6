// Warms up a spare isolate's runtime before any function is in it: V8
// compiles a function's bytecode on its first call, per isolate, so running
// the paths every call takes (URL, Headers, Request/Response, encodings, both
// handler styles) once here keeps that work off the first real call.
import { runHandler } from './handlers.guest.ts';
import { format } from './isolate-console.guest.ts';
import { structuredClone } from './isolate-web-clone.guest.ts';

const ctx = {
  activationId: 'warmup',
  functionName: 'warmup',
  functionVersion: 0,
  memoryMb: 8,
  deadline: 0,
  env: {},
  resultLimitBytes: 1 << 20,
};

/** Runs the common paths once; returns nothing and logs nowhere. */
export async function warmup(): Promise<void> {
  const url = new URL('/a/./b/../c?x=1&y=%20z#frag', 'https://Example.COM:443/base/');
  url.searchParams.set('q', 'v w');
  const headers = new Headers({ 'content-type': 'application/json', 'x-a': 'b' });
  headers.append('x-a', 'c');
  const request = new Request(url.href, { method: 'POST', headers, body: '{"k":[1,2]}' });
  await request.clone().json();
  const echo = {
    style: 'fetch' as const,
    call: async (r: unknown) =>
      new Response(await (r as Request).arrayBuffer(), { status: 201, headers: { 'x-warm': '1' } }),
  };
  const http = {
    kind: 'http' as const,
    request: {
      method: 'PUT',
      url: '/fn/warm?z=1',
      headers: { 'content-type': 'text/plain' },
      bodyBase64: btoa('warm body é'),
    },
  };
  await runHandler(echo, http, ctx);
  await runHandler({ style: 'lambda', call: (event: unknown) => ({ statusCode: 200, body: event }) }, http, ctx);
  await runHandler(
    { style: 'main', call: (params: unknown) => params },
    { kind: 'event', event: { a: [1, { b: 2 }] } },
    ctx,
  );
  await Response.json({ ok: true }).text();
  new TextDecoder().decode(new TextEncoder().encode('warm ✓'));
  atob(btoa('warm'));
  structuredClone({ d: new Date(0), m: new Map([[1, [2]]]) });
  format(['%s %d %o', 'warm', 1, { a: [1] }, new Error('warm')]);
}
