// Every route of the API and how it is confined to the caller's namespace:
// test/tenancy/route-scope.test.ts fails when a registered route has no row here.
// Each helper adds the rows of the routes it builds.
//
// For every row the test sends the request as namespace B's admin key, aimed at
// namespace A's objects, and expects a 404 (403 for root routes; 200 for a list,
// whose answer must not show A's objects), unless the row says `expect`. It also
// sends it with a key of A whose role lacks `permission`, and expects 403.
// In `url`, `:name` and `:function` become A's function, `:ns` A's namespace,
// `:id` A's activation, sandbox or key (by the path), `:alias` "live", `:n` "1",
// anything else "a-thing" unless `params` says; A's admin runs `setup` first.

export interface RouteRow {
  /** An HTTP method, or ANY (app.all). */
  method: string;
  /** The fastify path, e.g. '/v1/functions/:name/aliases/:alias'. */
  url: string;
  /** The least permission the route needs ('none': open, as /healthz). */
  permission: 'none' | 'read' | 'invoke' | 'deploy' | 'admin' | 'root';
  /** How it is confined to the caller's namespace. */
  scoped: string;
  /** Values for the path's parameters, where the defaults above do not fit. */
  params?: Record<string, string>;
  /** A query string for the probe, e.g. '?function=:name'. */
  query?: string;
  /** The probe's JSON body (default: none). */
  body?: unknown;
  /** What B gets when not the default (e.g. 201: B may make its own object of that name; A's stays as it was). */
  expect?: number;
  /** A request A's admin makes first, so that A has the object the row aims at (same parameter rules). */
  setup?: { method: string; path: string; body?: unknown };
}

export const ROUTE_TABLE: RouteRow[] = [
  // Functions, invoke, the function origin (routes/functions.ts, invoke.ts, function-routes.ts).
  {
    method: 'PUT',
    url: '/v1/functions/:name',
    permission: 'deploy',
    scoped: 'deploys the qualified name in the principal namespace: B makes its own function, A keeps its own',
    body: { runtime: 'nodejs', code: 'export const handler = async () => "b";' },
    expect: 201,
  },
  {
    method: 'GET',
    url: '/v1/functions',
    permission: 'read',
    scoped: 'lists the functions whose qualified name is in the principal namespace',
  },
  {
    method: 'GET',
    url: '/v1/functions/:name',
    permission: 'read',
    scoped: 'reads the qualified name in the principal namespace (scopedName)',
  },
  {
    method: 'DELETE',
    url: '/v1/functions/:name',
    permission: 'deploy',
    scoped: 'deletes the qualified name in the principal namespace',
  },
  {
    method: 'POST',
    url: '/v1/functions/:name/invoke',
    permission: 'invoke',
    scoped: 'invokes the qualified name in the principal namespace (sync and ?async=1)',
    body: {},
  },
  {
    method: 'POST',
    url: '/v1/functions/:name/invoke',
    permission: 'invoke',
    scoped: 'the async path takes the same qualified name before anything is stored',
    query: '?async=1',
    body: {},
  },
  {
    method: 'ANY',
    url: '/fn/:name',
    permission: 'invoke',
    scoped: 'function origin: the qualified name in the principal namespace (API origin: always a 404)',
  },
  {
    method: 'ANY',
    url: '/fn/:name/*',
    permission: 'invoke',
    scoped: 'function origin: the qualified name in the principal namespace (API origin: always a 404)',
  },
  // Activations (routes/activations.ts).
  {
    method: 'GET',
    url: '/v1/activations/:id',
    permission: 'read',
    scoped: 'a record whose function is not in the principal namespace is a 404',
  },
  {
    method: 'GET',
    url: '/v1/activations',
    permission: 'read',
    scoped: 'the SQL filters on the principal namespace (ActivationQuery.namespace); ?function= is qualified',
  },
  {
    method: 'GET',
    url: '/v1/activations',
    permission: 'read',
    scoped: '?function= names a function of the principal namespace (an empty list for B)',
    query: '?function=:name',
    expect: 200,
  },
  // The cost report (routes/reports.ts).
  {
    method: 'GET',
    url: '/v1/reports/cost',
    permission: 'read',
    scoped:
      "reads only the principal namespace's activation records (ActivationQuery.namespace); ?function= is qualified",
  },
  {
    method: 'GET',
    url: '/v1/reports/cost',
    permission: 'read',
    scoped: "?function= names a function of the principal namespace: B's report of A's name counts no call",
    query: '?function=:name',
    expect: 200,
  },
  // Metrics and latency classes (routes/report-metrics.ts).
  {
    method: 'GET',
    url: '/v1/reports/metrics',
    permission: 'read',
    scoped: "reads only the principal namespace's activation records, made since that namespace was made",
  },
  {
    method: 'GET',
    url: '/v1/reports/latency',
    permission: 'read',
    scoped: "reads only the principal namespace's activation records, made since that namespace was made",
  },
  // Live logs (routes/logs.ts).
  {
    method: 'GET',
    url: '/v1/logs',
    permission: 'read',
    scoped:
      '?function= is qualified with the principal namespace and must exist there (404 otherwise), before the records are read or the bus subject of that qualified name is followed',
    query: '?function=:name',
  },
  // Sandboxes and engines (routes/sandboxes.ts).
  {
    method: 'GET',
    url: '/v1/sandboxes',
    permission: 'read',
    scoped: "lists the sandboxes of the principal namespace's functions; the host's caps to root only",
  },
  {
    method: 'POST',
    url: '/v1/functions/:name/sandboxes',
    permission: 'deploy',
    scoped: 'pre-warms the qualified name in the principal namespace',
  },
  {
    method: 'DELETE',
    url: '/v1/sandboxes/:id',
    permission: 'deploy',
    scoped: "a sandbox of another namespace's function is a 404",
  },
  {
    method: 'PATCH',
    url: '/v1/sandboxes/:id',
    permission: 'deploy',
    scoped: "a sandbox of another namespace's function is a 404",
    body: { memoryMb: 256 },
  },
  {
    method: 'POST',
    url: '/v1/sandboxes/:id/migrate',
    permission: 'deploy',
    scoped: "a sandbox of another namespace's function is a 404",
  },
  {
    method: 'GET',
    url: '/v1/engines',
    permission: 'read',
    scoped: "the host's engines, the same for every namespace; names no function",
  },
  // Namespaces and keys (routes/namespaces.ts, keys.ts).
  { method: 'POST', url: '/v1/namespaces', permission: 'root', scoped: 'root only', body: { name: 'made-by-b' } },
  { method: 'GET', url: '/v1/namespaces', permission: 'root', scoped: 'root only' },
  {
    method: 'GET',
    url: '/v1/namespaces/:ns',
    permission: 'read',
    scoped: 'a key reads its own namespace only; another is a 404',
  },
  { method: 'DELETE', url: '/v1/namespaces/:ns', permission: 'root', scoped: 'root only' },
  // Quotas (routes/quotas.ts).
  {
    method: 'PATCH',
    url: '/v1/namespaces/:ns',
    permission: 'root',
    scoped: "root only: a namespace's quotas are the operator's",
    body: { quotas: { maxConcurrent: 1 } },
  },
  {
    method: 'POST',
    url: '/v1/keys',
    permission: 'admin',
    scoped: 'an admin makes keys of its own namespace only: naming another is a 403, before any lookup',
    body: { namespace: ':ns', role: 'admin' },
    expect: 403,
  },
  { method: 'GET', url: '/v1/keys', permission: 'admin', scoped: "an admin lists its own namespace's keys" },
  {
    method: 'DELETE',
    url: '/v1/keys/:id',
    permission: 'admin',
    scoped: "another namespace's key is a 404",
  },
  // Platform.
  { method: 'GET', url: '/healthz', permission: 'none', scoped: 'open; says only whether the store answers' },
  // The web dashboard (routes/dashboard.ts): the same index.html on every page path, and the built bundle.
  { method: 'GET', url: '/', permission: 'none', scoped: 'static, no data: the dashboard page' },
  { method: 'GET', url: '/functions', permission: 'none', scoped: 'static, no data: the dashboard page' },
  { method: 'GET', url: '/functions/:name', permission: 'none', scoped: 'static, no data: the dashboard page' },
  { method: 'GET', url: '/activations', permission: 'none', scoped: 'static, no data: the dashboard page' },
  { method: 'GET', url: '/activations/:id', permission: 'none', scoped: 'static, no data: the dashboard page' },
  { method: 'GET', url: '/sandboxes', permission: 'none', scoped: 'static, no data: the dashboard page' },
  { method: 'GET', url: '/engines', permission: 'none', scoped: 'static, no data: the dashboard page' },
  { method: 'GET', url: '/charts', permission: 'none', scoped: 'static, no data: the dashboard page' },
  { method: 'GET', url: '/cost', permission: 'none', scoped: 'static, no data: the dashboard page' },
  {
    method: 'GET',
    url: '/assets/:file',
    permission: 'none',
    scoped: 'static, no data: the dashboard bundle',
    params: { file: 'main.js' },
  },
  { method: 'GET', url: '/metrics', permission: 'root', scoped: "root only: metrics name every namespace's functions" },
  // Versions and aliases (src/frontend/routes/versions.ts, aliases.ts).
  {
    method: 'GET',
    url: '/v1/functions/:name/versions',
    permission: 'read',
    scoped: 'the name is qualified with the principal namespace (scopedName); another namespace function is a 404',
  },
  {
    method: 'DELETE',
    url: '/v1/functions/:name/versions/:n',
    permission: 'deploy',
    scoped: 'the name is qualified with the principal namespace; the delete matches that qualified name only',
  },
  {
    method: 'GET',
    url: '/v1/functions/:name/aliases',
    permission: 'read',
    scoped: 'aliases are keyed by the qualified name in the principal namespace; another namespace function is a 404',
  },
  {
    method: 'GET',
    url: '/v1/functions/:name/aliases/:alias',
    permission: 'read',
    scoped: 'aliases are keyed by the qualified name in the principal namespace',
    setup: { method: 'PUT', path: '/v1/functions/:name/aliases/live', body: { version: 1 } },
  },
  {
    method: 'PUT',
    url: '/v1/functions/:name/aliases/:alias',
    permission: 'deploy',
    scoped: 'the alias row is keyed by the qualified name; its versions are checked under that same name',
    body: { version: 1 },
  },
  {
    method: 'DELETE',
    url: '/v1/functions/:name/aliases/:alias',
    permission: 'deploy',
    scoped: 'deletes only the row keyed by the qualified name in the principal namespace',
  },
  // Triggers and topics (src/frontend/routes/triggers.ts, topics.ts; logic in src/events/).
  {
    method: 'PUT',
    url: '/v1/triggers/:name',
    permission: 'deploy',
    scoped: 'the trigger row is keyed by (principal namespace, name); its function is resolved in that namespace only',
    params: { name: 'alpha-trigger' },
    body: { type: 'topic', topic: 'alpha-topic', function: ':function' },
    expect: 400,
  },
  {
    method: 'GET',
    url: '/v1/triggers',
    permission: 'read',
    scoped: 'lists the rows WHERE namespace = the principal namespace',
  },
  {
    method: 'GET',
    url: '/v1/triggers/:name',
    permission: 'read',
    scoped: 'reads the row keyed by (principal namespace, name); another namespace trigger is a 404',
    params: { name: 'alpha-trigger' },
    setup: {
      method: 'PUT',
      path: '/v1/triggers/alpha-trigger',
      body: { type: 'topic', topic: 'alpha-topic', function: ':function' },
    },
  },
  {
    method: 'DELETE',
    url: '/v1/triggers/:name',
    permission: 'deploy',
    scoped: 'deletes only the row keyed by (principal namespace, name); another namespace trigger is a 404',
    params: { name: 'alpha-trigger' },
  },
  {
    method: 'POST',
    url: '/v1/topics/:topic/publish',
    permission: 'invoke',
    scoped: 'the topic index is keyed by (principal namespace, topic): only that namespace subscribers get the event',
    params: { topic: 'alpha-topic' },
    body: { from: 'b' },
    expect: 202,
  },
  // Secrets (src/frontend/routes/secrets.ts; rows in src/tenancy/secrets-store.ts keyed by (namespace, name)).
  {
    method: 'PUT',
    url: '/v1/secrets/:name',
    permission: 'deploy',
    scoped: "writes the row keyed by (principal namespace, name): B makes its own secret, A's keeps its value",
    params: { name: 'db-pass' },
    body: { value: 'b-value' },
    expect: 201,
    setup: { method: 'PUT', path: '/v1/secrets/db-pass', body: { value: 'a-value' } },
  },
  {
    method: 'GET',
    url: '/v1/secrets',
    permission: 'read',
    scoped: 'lists the rows WHERE namespace = the principal namespace (names and dates, never values)',
    setup: { method: 'PUT', path: '/v1/secrets/db-pass', body: { value: 'a-value' } },
  },
  {
    method: 'DELETE',
    url: '/v1/secrets/:name',
    permission: 'deploy',
    scoped: 'deletes only the row keyed by (principal namespace, name); another namespace secret is a 404',
    params: { name: 'db-pass' },
    setup: { method: 'PUT', path: '/v1/secrets/db-pass', body: { value: 'a-value' } },
  },
  // Function state (src/frontend/routes/kv.ts; rows keyed by the function's qualified name, so by namespace).
  {
    method: 'PUT',
    url: '/v1/kv/:function/*',
    permission: 'deploy',
    scoped: 'the function is looked up as qualify(principal namespace, name): another namespace function is a 404',
    body: { value: 'from-b' },
    setup: { method: 'PUT', path: '/v1/kv/:function/some/path', body: { value: 'a-value' } },
  },
  {
    method: 'GET',
    url: '/v1/kv/:function/*',
    permission: 'read',
    scoped: 'reads the row keyed by the qualified name in the principal namespace; another namespace function is a 404',
  },
  {
    method: 'GET',
    url: '/v1/kv/:function',
    permission: 'read',
    scoped: 'lists the rows of the qualified name in the principal namespace; another namespace function is a 404',
  },
  {
    method: 'DELETE',
    url: '/v1/kv/:function/*',
    permission: 'deploy',
    scoped: 'deletes only rows of the qualified name in the principal namespace; another namespace function is a 404',
  },
];
