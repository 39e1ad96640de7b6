// Every route is confined to its caller's namespace, checked from one table
// (route-table.ts): the test fails when the platform registers a route the
// table lacks. Namespace A gets a function, an activation, a sandbox and a
// key; then every row's request is sent as namespace B's admin key, aimed at
// A's objects (404, or 403 for root routes; a list must not show them), and
// again with a key of A whose role lacks the row's permission (403). At the
// end A's objects are as they were.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { routesOf } from '../../src/frontend/route-list.ts';
import { startTestPlatform, type TestPlatform, type TestResponse } from '../helpers/platform.ts';
import { ROUTE_TABLE, type RouteRow } from './route-table.ts';

const A = 'tenant-alpha';
const B = 'tenant-bravo';
const FN = 'alpha-only-fn';
const CODE = 'export const handler = async (e) => ({ from: "alpha", e });';
/** A key of A whose role lacks the permission. */
const LACKING = { read: 'invoker', invoke: 'reader', deploy: 'invoker', admin: 'developer', root: 'admin' } as const;

describe('every route is confined to its namespace', () => {
  let t: TestPlatform;
  const keys: Record<string, { id: string; key: string }> = {};
  const objects = { activation: '', sandbox: '', key: '', sha256: '' };

  const as = (who: string) => ({ authorization: `Bearer ${keys[who]!.key}` });
  const fill = (text: string, row: RouteRow) =>
    text.replace(/:([a-zA-Z]+)|\*/g, (whole, p: string | undefined) => {
      if (whole === '*') return 'some/path';
      if (row.params?.[p!] !== undefined) return row.params[p!]!;
      if (p === 'name' || p === 'function') return FN;
      if (p === 'ns') return A;
      if (p === 'alias') return 'live';
      if (p === 'n') return '1';
      if (p === 'id') {
        if (text.startsWith('/v1/activations')) return objects.activation;
        if (text.startsWith('/v1/sandboxes')) return objects.sandbox;
        if (text.startsWith('/v1/keys')) return objects.key;
      }
      return 'a-thing';
    });
  const send = (row: RouteRow, headers: Record<string, string>): Promise<TestResponse> => {
    const target = fill(row.url, row) + fill(row.query ?? '', row);
    const body = row.body === undefined ? undefined : JSON.parse(fill(JSON.stringify(row.body), row));
    const method = row.method === 'ANY' ? 'GET' : row.method;
    return target.startsWith('/fn/')
      ? t.fnRequest(method, target, body, headers)
      : t.request(method, target, body, headers);
  };

  before(async () => {
    t = await startTestPlatform();
    for (const ns of [A, B]) assert.equal((await t.request('POST', '/v1/namespaces', { name: ns })).status, 201);
    for (const role of ['admin', 'developer', 'invoker', 'reader']) {
      const r = await t.request('POST', '/v1/keys', { namespace: A, role });
      keys[role] = r.json;
    }
    keys.b = (await t.request('POST', '/v1/keys', { namespace: B, role: 'admin' })).json;
    objects.key = keys.reader!.id;
    const deployed = await t.request('PUT', `/v1/functions/${FN}`, { runtime: 'nodejs', code: CODE }, as('developer'));
    assert.equal(deployed.status, 201, deployed.text);
    objects.sha256 = deployed.json.artifact.sha256;
    const called = await t.request('POST', `/v1/functions/${FN}/invoke`, {}, as('invoker'));
    assert.equal(called.status, 200, called.text);
    objects.activation = called.headers.get('x-nimbus-activation-id') ?? '';
    const warmed = await t.request('POST', `/v1/functions/${FN}/sandboxes`, undefined, as('developer'));
    assert.equal(warmed.status, 201, warmed.text);
    objects.sandbox = warmed.json.id;
    for (const row of ROUTE_TABLE) {
      if (!row.setup) continue;
      const body = row.setup.body === undefined ? undefined : JSON.parse(fill(JSON.stringify(row.setup.body), row));
      const r = await t.request(row.setup.method, fill(row.setup.path, row), body, as('admin'));
      assert.ok(r.status < 300, `setup of ${row.method} ${row.url}: ${r.status} ${r.text}`);
    }
  });
  after(() => t?.close());

  it('has a row for every route the platform registers', () => {
    const rows = new Set(ROUTE_TABLE.map((r) => `${r.method} ${r.url}`));
    const registered = [...routesOf(t.platform.server!), ...routesOf(t.platform.functionsServer!)];
    const missing = [...new Set(registered.map((r) => `${r.method} ${r.url}`))].filter((r) => !rows.has(r));
    assert.deepEqual(
      missing,
      [],
      'routes without a row in test/tenancy/route-table.ts: add one saying how each is scoped',
    );
  });

  it("refuses a key of another namespace every object of A's", async () => {
    const markers = [objects.activation, objects.sandbox, objects.key, objects.sha256, A];
    const failures: string[] = [];
    // Rows where B may make an object of its own run last: B's own function of A's name must not answer B's other probes.
    const ordered = [...ROUTE_TABLE].sort(
      (x, y) =>
        Number((x.expect ?? 0) < 300 && (x.expect ?? 0) >= 200) -
        Number((y.expect ?? 0) < 300 && (y.expect ?? 0) >= 200),
    );
    for (const row of ordered) {
      const r = await send(row, as('b'));
      const isList = row.method === 'GET' && !`${row.url}${row.query ?? ''}`.includes(':');
      const expected =
        row.expect ?? (row.permission === 'root' ? 403 : isList || row.permission === 'none' ? 200 : 404);
      if (r.status !== expected)
        failures.push(`${row.method} ${row.url}: ${r.status}, expected ${expected}: ${r.text.slice(0, 200)}`);
      const leaked = r.status < 300 ? markers.filter((m) => r.text.includes(m)) : [];
      if (leaked.length) failures.push(`${row.method} ${row.url} shows A's ${leaked.join(', ')}`);
    }
    assert.deepEqual(failures, []);
  });

  it('refuses a key of A whose role lacks the permission with 403', async () => {
    const failures: string[] = [];
    for (const row of ROUTE_TABLE) {
      if (row.permission === 'none') continue;
      const role = LACKING[row.permission];
      const r = await send(row, as(role));
      if (r.status !== 403) failures.push(`${row.method} ${row.url} as ${role}: ${r.status} ${r.text.slice(0, 200)}`);
    }
    assert.deepEqual(failures, []);
  });

  it("leaves A's objects as they were", async () => {
    const fn = await t.request('GET', `/v1/functions/${FN}`, undefined, as('reader'));
    assert.equal(fn.status, 200);
    assert.equal(fn.json.version, 1);
    assert.equal(fn.json.artifact.sha256, objects.sha256);
    const record = await t.request('GET', `/v1/activations/${objects.activation}`, undefined, as('reader'));
    assert.equal(record.json.namespace, A);
    // B's calls and publishes ran nothing of A's: its one activation is the setup's call.
    const runs = await t.request('GET', `/v1/activations?function=${FN}`, undefined, as('reader'));
    assert.deepEqual(
      runs.json.activations.map((a: { id: string }) => a.id),
      [objects.activation],
    );
    const sandboxes = await t.request('GET', '/v1/sandboxes', undefined, as('reader'));
    assert.ok(sandboxes.json.sandboxes.some((s: { id: string }) => s.id === objects.sandbox));
    assert.equal((await t.request('GET', '/v1/functions', undefined, as('reader'))).status, 200);
    const listed = await t.request('GET', '/v1/keys', undefined, as('admin'));
    assert.ok(
      listed.json.keys.some((k: { id: string; revokedAt: string | null }) => k.id === objects.key && !k.revokedAt),
    );
    // Root in default sees neither namespace's functions.
    const root = await t.request('GET', '/v1/functions');
    assert.ok(!root.text.includes(FN));
  });
});
