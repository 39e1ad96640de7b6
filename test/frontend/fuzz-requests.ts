// The random requests of the API fuzz test (fuzz.test.ts), as fast-check
// arbitraries: every route of both listeners with odd parameters, methods,
// paths (encoded, raw UTF-8, dot-segments, very long), query strings, headers
// (Host a loopback name, or now and then a foreign one) and bodies (random
// bytes, JSON of odd shapes, deep nesting, huge numbers, deploy-like configs).
import fc from 'fast-check';

export interface FuzzRequest {
  origin: 'api' | 'fn';
  method: string;
  path: string;
  /** Lower-case names; `host` absent means none is sent (HTTP/1.0 style). */
  headers: Record<string, string>;
  body?: Buffer;
  foreignHost: boolean;
}

/** The functions the test deploys first; the fuzzer aims at them often. */
export const FIXTURES = {
  echo: { code: 'exports.handler = async (e) => e', config: { maxSandboxes: 2, timeoutMs: 5000 } },
  web: {
    code: 'export default { fetch: async (r) => new Response(await r.text(), { headers: { "x-path": new URL(r.url).pathname } }) }',
    config: { engine: 'isolate', maxSandboxes: 2, timeoutMs: 5000 },
  },
  // Answers with the status (any number), headers and body the query asks for, so the fuzzer also drives what a function sends back.
  answer: {
    code: `exports.handler = async (e) => {
  const q = e.queryStringParameters ?? {};
  let headers = {};
  try { headers = JSON.parse(q.h ?? '{}'); } catch {}
  return { statusCode: q.s === undefined ? 200 : Number(q.s), headers, body: q.b ?? '' };
};`,
    config: { maxSandboxes: 2, timeoutMs: 5000 },
  },
} as const;
export const FIXTURE_NAMES = Object.keys(FIXTURES);

const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'];
const odd = (s: string) => encodeURIComponent(s);
/** Raw UTF-8 in a URL is refused by Node's parser (a 400): one path or query in ten is sent so, the rest percent-encoded. */
const rawOrNot = fc.integer({ min: 0, max: 9 }).map((n) => n === 0);

/** A path segment as sent: percent-encoded, or raw (its UTF-8 bytes, controls and spaces still escaped). */
function sent(segment: string, raw: boolean): string {
  if (!raw) return odd(segment);
  return [...Buffer.from(segment, 'utf8')]
    .map((b) =>
      b <= 0x20 || b === 0x7f || b === 0x3f || b === 0x23
        ? `%${b.toString(16).padStart(2, '0')}`
        : String.fromCharCode(b),
    )
    .join('');
}

const unicode = fc.string({ unit: 'binary', maxLength: 12 });
const segment = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('..', '.', '', '%2e%2e', '%2F', '%00', '%zz', '%', 'a', 'x%2Fy', '..%2f..') },
  { weight: 4, arbitrary: fc.webSegment() },
  { weight: 3, arbitrary: unicode },
  { weight: 1, arbitrary: fc.integer({ min: 65, max: 20_000 }).map((n) => 'a'.repeat(n)) },
);

const name = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(...FIXTURE_NAMES) },
  { weight: 2, arbitrary: fc.stringMatching(/^[a-z][a-z0-9_-]{0,10}$/) },
  { weight: 3, arbitrary: segment },
);
const id = fc.oneof(fc.stringMatching(/^[0-9a-f]{32}$/), segment);

/** Route templates of the management API; the function origin's come from fnPath. */
const apiPath = fc.oneof(
  fc.constantFrom(
    '/v1/functions',
    '/v1/sandboxes',
    '/v1/activations',
    '/v1/engines',
    '/healthz',
    '/metrics',
    '/',
    '/v1',
    '/v2/x',
  ),
  name.map((n) => ['/v1/functions/', n]),
  name.map((n) => ['/v1/functions/', n, '/invoke']),
  name.map((n) => ['/v1/functions/', n, '/sandboxes']),
  id.map((i) => ['/v1/sandboxes/', i]),
  id.map((i) => ['/v1/sandboxes/', i, '/migrate']),
  id.map((i) => ['/v1/activations/', i]),
  name.chain((n) => fc.array(segment, { maxLength: 3 }).map((rest) => ['/fn/', n, ...rest.flatMap((s) => ['/', s])])),
);
const fnPath = fc.oneof(
  {
    weight: 6,
    arbitrary: name.chain((n) =>
      fc.array(segment, { maxLength: 4 }).map((rest) => ['/fn/', n, ...rest.flatMap((s) => ['/', s])]),
    ),
  },
  { weight: 1, arbitrary: fc.constantFrom('/healthz', '/', '/fn', '/fn/', '/v1/functions', '//fn//echo') },
);

/** Joins a template (literal, parameter, literal, parameter, ...), encoding the parameters one way or the other. */
const pathOf = (template: fc.Arbitrary<string | string[]>) =>
  fc
    .tuple(template, rawOrNot)
    .map(([t, raw]) =>
      typeof t === 'string' ? t : t.map((part, i) => (i % 2 === 1 ? sent(part, raw) : part)).join(''),
    );

const headerValue = fc.string({ maxLength: 40 }).filter((v) => /^[\t\x20-\x7e]*$/.test(v));
const headerName = fc.stringMatching(/^[a-z][a-z0-9-]{0,15}$/);
const queryValue = fc.oneof(
  fc.constantFrom(
    '1',
    'true',
    '0',
    'false',
    '',
    '-1',
    '1e400',
    'NaN',
    '99999999999999999999',
    '2020-01-01',
    'success',
    'process',
    'isolate',
    'microvm',
    '{"A":"b"}',
    '200',
    '101',
    '404',
    '503',
    '600',
  ),
  fc.json({ maxDepth: 3 }),
  fc
    .dictionary(
      fc.oneof(
        headerName,
        fc.constantFrom('x a', 'x\u00e9', 'set-cookie', 'x-nimbus-activation-id', 'content-length', 'connection'),
      ),
      fc.oneof(headerValue, fc.constantFrom('a\r\nb: c', 'caf\u00e9', '\u2603', '\u0000', 'v')),
      { maxKeys: 3 },
    )
    .map((h) => JSON.stringify(h)),
  unicode,
);
const queryKey = fc.oneof(
  fc.constantFrom(
    'async',
    'limit',
    'status',
    'before',
    'function',
    'memoryMb',
    'timeoutMs',
    'network',
    'handler',
    'engine',
    'env',
    's',
    'h',
    'b',
  ),
  unicode,
);
const query = fc
  .tuple(fc.array(fc.tuple(queryKey, queryValue), { maxLength: 5 }), rawOrNot)
  .map(([pairs, raw]) =>
    pairs.length ? `?${pairs.map(([k, v]) => `${sent(k, raw)}=${sent(v, raw)}`).join('&')}` : '',
  );

const deep = fc
  .tuple(fc.integer({ min: 1, max: 200_000 }), fc.constantFrom('[', '{"a":'))
  .map(([n, open]) => open.repeat(n) + (open === '[' ? ']' : '}').repeat(n));
const oddJson = fc.constantFrom(
  '1e400',
  '-1e400',
  '123456789012345678901234567890123456789',
  '-0',
  '1e-400',
  '{"__proto__":{"x":1}}',
  '{"constructor":{"prototype":{}}}',
  '"\\ud800"',
  'null',
  '[]',
  '{}',
  'true',
  '{"a":1,"a":2}',
  '',
);
const deployLike = fc.record(
  {
    code: fc.oneof(
      fc.constantFrom(
        'exports.handler = async (e) => ({ fuzzed: e })',
        'export default { fetch: () => new Response("f") }',
        'syntax error (',
        '',
      ),
      fc.string(),
    ),
    runtime: fc.oneof(fc.constant('nodejs'), fc.string()),
    engine: fc.constantFrom('process', 'isolate', 'quantum', 1),
    memoryMb: fc.oneof(fc.integer({ min: -1, max: 100_000 }), fc.double(), fc.constant(256)),
    minSandboxes: fc.constantFrom(0, -1, 1.5, 101, 'x'),
    env: fc.dictionary(
      fc.oneof(fc.stringMatching(/^[A-Z_][A-Z0-9_]{0,8}$/), unicode),
      fc.oneof(fc.string(), fc.constant('a\u0000b'), fc.integer()),
      { maxKeys: 3 },
    ),
  },
  { requiredKeys: [] },
);
const body = fc.oneof(
  { weight: 9, arbitrary: fc.constant(undefined) },
  { weight: 9, arbitrary: fc.uint8Array({ maxLength: 2048 }).map((b) => Buffer.from(b)) },
  { weight: 12, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => Buffer.from(JSON.stringify(v) ?? 'null')) },
  { weight: 6, arbitrary: deep.map((s) => Buffer.from(s)) },
  { weight: 6, arbitrary: oddJson.map((s) => Buffer.from(s)) },
  { weight: 6, arbitrary: deployLike.map((v) => Buffer.from(JSON.stringify(v))) },
  // Over the 6 MB body limit: rare, as each costs a 7 MB upload.
  { weight: 1, arbitrary: fc.constant(Buffer.alloc(7 * 1024 * 1024, 0x61)) },
);
const contentType = fc.oneof(
  { weight: 1, arbitrary: headerValue },
  {
    weight: 6,
    arbitrary: fc.constantFrom(
      'application/json',
      'application/json; charset=utf-8',
      'text/plain',
      'application/x-www-form-urlencoded',
      'application/zip',
      'application/x-tar',
      'application/gzip',
      'application/octet-stream',
      'multipart/form-data; boundary=x',
      'application/vnd.x+json',
      '',
    ),
  },
);
const extraHeaders = fc.record(
  {
    'content-type': contentType,
    prefer: fc.oneof(fc.constant('respond-async'), headerValue),
    'idempotency-key': headerValue,
    'x-nimbus-config': fc
      .oneof(
        fc.json({ maxDepth: 3 }),
        headerValue,
        deployLike.map((v) => JSON.stringify(v)),
      )
      .filter((v) => /^[\t\x20-\x7e]*$/.test(v)),
    accept: fc.constantFrom('*/*', 'text/html', 'application/json'),
    authorization: headerValue.map((v) => `Bearer ${v}`),
    'content-encoding': fc.constantFrom('gzip', 'br', 'identity'),
    'x-forwarded-for': headerValue,
  },
  { requiredKeys: [] },
);
/** Now and then what a browser adds (a cross-origin page is a 401 outside /fn/). */
const browserHeaders = fc.oneof(
  { weight: 9, arbitrary: fc.constant({}) },
  {
    weight: 1,
    arbitrary: fc.record(
      {
        origin: fc.constantFrom('http://evil.example', 'null', 'http://127.0.0.1'),
        'sec-fetch-site': fc.constantFrom('cross-site', 'same-site', 'same-origin', 'none'),
      },
      { requiredKeys: [] },
    ),
  },
);
const randomHeaders = fc.dictionary(headerName, headerValue, { maxKeys: 3 });

/** Loopback names the Host check lets through, and names it must refuse with 421. */
const loopbackHost = (port: number) =>
  fc.constantFrom(`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, '127.1.2.3', 'LOCALHOST', `127.0.0.1`);
const foreignHost = fc.oneof(
  fc.constantFrom(
    'evil.example',
    'evil.example:80',
    '127.0.0.1.evil.example',
    '10.0.0.1',
    '[::2]',
    'localhost.',
    'a b',
    '@',
  ),
  headerValue.filter((v) => v.length > 0),
);

/** With apiKey, four requests in five carry it (the rest a random Authorization, or none). */
export function fuzzRequest(ports: { api: number; fn: number }, apiKey?: string): fc.Arbitrary<FuzzRequest> {
  return fc
    .record({
      origin: fc.constantFrom('api' as const, 'fn' as const),
      method: fc.oneof(
        { weight: 9, arbitrary: fc.constantFrom(...METHODS) },
        { weight: 1, arbitrary: fc.constantFrom('FOO', 'PROPFIND', 'SEARCH', 'PURGE', 'LINK') },
      ),
      apiPath: pathOf(apiPath),
      fnPath: pathOf(fnPath),
      query,
      body,
      extra: extraHeaders,
      random: randomHeaders,
      browser: browserHeaders,
      hostKind: fc.oneof(
        { weight: 17, arbitrary: fc.constant('loopback') },
        { weight: 1, arbitrary: fc.constant('none') },
        { weight: 2, arbitrary: fc.constant('foreign') },
      ),
      foreign: foreignHost,
      keyed: fc.integer({ min: 0, max: 4 }).map((n) => n > 0),
      answer: fc.record({
        s: fc.oneof(
          { weight: 6, arbitrary: fc.integer({ min: 100, max: 599 }) },
          { weight: 1, arbitrary: fc.oneof(fc.integer({ min: -1, max: 1100 }), fc.double()) },
        ),
        h: queryValue,
        raw: rawOrNot,
      }),
    })
    .chain((r) => {
      const port = r.origin === 'api' ? ports.api : ports.fn;
      return loopbackHost(port).map((host) => ({ r, host }));
    })
    .map(({ r, host }) => {
      let path = (r.origin === 'api' ? r.apiPath : r.fnPath) + r.query;
      // Calls to the answer fixture without a query of their own ask it for a status and headers.
      if (r.origin === 'fn' && /^\/fn\/answer(\/|$|\?)/.test(path) && !path.includes('?')) {
        path += `?s=${r.answer.s}&h=${sent(r.answer.h, r.answer.raw)}`;
      }
      const headers: Record<string, string> = { ...r.random, ...r.extra, ...r.browser };
      if (r.hostKind === 'loopback') headers.host = host;
      if (r.hostKind === 'foreign') headers.host = r.foreign;
      // With a key, 4 in 5 requests carry it. On loopback without one a Bearer is checked as a namespace
      // key (a random one is a 401), so only 1 in 5 keeps the one it drew and the rest reach the routes.
      if (apiKey && r.keyed) headers.authorization = `Bearer ${apiKey}`;
      else if (!apiKey && r.keyed) delete headers.authorization;
      return { origin: r.origin, method: r.method, path, headers, body: r.body, foreignHost: r.hostKind === 'foreign' };
    });
}
