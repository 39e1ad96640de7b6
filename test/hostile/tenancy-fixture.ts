// Two tenants on one real embedded platform, for the attacks in
// test/hostile/tenancy-*.test.ts: namespaces A (the victim) and B (the
// attacker), a key of every role in each, and in A a function, a secret, an
// alias, a trigger, a KV key and an activation to aim at. `as(ns, role)` gives
// the headers of that key; requests without headers are root (loopback).
import assert from 'node:assert/strict';
import type { PlatformOptions } from '../../src/platform.ts';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.ts';

export const A = 'victim-a';
export const B = 'attacker-b';
export const FN = 'vault';
export const A_SECRET_VALUE = 'a-secret-value-7f3c9e1d5b';
/** A's function returns its secret and what it is called with, so a cross-namespace call would show it. */
export const A_CODE =
  'export const handler = async (e, ctx) => { await ctx.kv.put("touched", true); return { from: "victim", secret: process.env.VAULT_PASS, e }; };';
export const ROLES = ['admin', 'developer', 'invoker', 'reader'] as const;
export type Role = (typeof ROLES)[number];

export interface Tenants {
  t: TestPlatform;
  keys: Record<string, Record<Role, { id: string; key: string }>>;
  /** Headers for a key of that namespace and role. */
  as(ns: string, role: Role): Record<string, string>;
  /** One activation of A's function (by A's invoker). */
  activation: string;
}

export async function twoTenants(options: PlatformOptions = {}): Promise<Tenants> {
  const t = await startTestPlatform(options);
  const keys: Tenants['keys'] = {};
  for (const ns of [A, B]) {
    const made = await t.request('POST', '/v1/namespaces', { name: ns });
    assert.equal(made.status, 201, made.text);
    keys[ns] = {} as Record<Role, { id: string; key: string }>;
    for (const role of ROLES) {
      const r = await t.request('POST', '/v1/keys', { namespace: ns, role });
      assert.equal(r.status, 201, r.text);
      keys[ns]![role] = r.json;
    }
  }
  const as = (ns: string, role: Role) => ({ authorization: `Bearer ${keys[ns]![role].key}` });
  const admin = as(A, 'admin');
  const ok = async (method: string, p: string, body?: unknown) => {
    const r = await t.request(method, p, body, admin);
    assert.ok(r.status < 300, `${method} ${p}: ${r.status} ${r.text}`);
    return r;
  };
  await ok('PUT', '/v1/secrets/vault-pass', { value: A_SECRET_VALUE });
  await ok('PUT', `/v1/functions/${FN}`, {
    runtime: 'nodejs',
    engine: 'isolate',
    code: A_CODE,
    secrets: { VAULT_PASS: 'vault-pass' },
  });
  await ok('PUT', `/v1/functions/${FN}/aliases/live`, { version: 1 });
  await ok('PUT', '/v1/triggers/vault-sub', { type: 'topic', topic: 'orders', function: FN });
  await ok('PUT', `/v1/kv/${FN}/a/private`, { value: 'a-kv-value' });
  const called = await ok('POST', `/v1/functions/${FN}/invoke`, { hello: 'a' });
  const activation = called.headers.get('x-nimbus-activation-id') ?? '';
  return { t, keys, as, activation };
}
