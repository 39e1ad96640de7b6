// A Workers-style function: export default { fetch(request, env, ctx) }.
// Reach it at /fn/http-echo/any/path on the function origin (`nimbus serve`
// prints it: port 8081 by default); it echoes what it received.
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const body = request.method === 'GET' || request.method === 'HEAD' ? '' : await request.text();
    return Response.json({ method: request.method, path: url.pathname, query: Object.fromEntries(url.searchParams), body, greeting: env.GREETING ?? 'hi' });
  },
};
