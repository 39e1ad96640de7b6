// Attacker's check of microVM standby through the API (issue 18): A's idle
// sandbox saved to disk (its memory, A's secret included) is A's alone.
// Namespace B's keys do not list it, cannot delete, resize or migrate it (a
// 404 like an unknown id, and the saved state stays), and deleting namespace
// A with ?force=1 deletes its standby state and function snapshots from disk.
import assert from 'node:assert/strict';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { until, type ListedSandbox } from './poll.ts';
import { A, B, twoTenants, type Tenants } from '../hostile/tenancy-fixture.ts';

const FN = 'parked';

describe('standby sandboxes across namespaces (real QEMU, through the API)', () => {
  let tenants: Tenants;
  let engines: Record<string, { available: boolean; reason: string }>;
  before(async () => {
    tenants = await twoTenants();
    engines = (await tenants.t.request('GET', '/v1/engines')).json.engines;
  });
  after(() => tenants.t.close());

  const listed = async (ns: string, role: 'admin' | 'reader' = 'reader') =>
    (await tenants.t.request('GET', '/v1/sandboxes', undefined, tenants.as(ns, role))).json
      .sandboxes as ListedSandbox[];
  const files = (dir: string) => readdir(path.join(tenants.t.dataDir, 'microvm', dir)).catch(() => [] as string[]);

  it("keeps A's standby sandbox from B and deletes it with namespace A", { timeout: 900_000 }, async (ctx) => {
    if (!engines.microvm?.available) return ctx.skip(`microvm engine unavailable here: ${engines.microvm?.reason}`);
    const admin = tenants.as(A, 'admin');
    const deployed = await tenants.t.request(
      'PUT',
      `/v1/functions/${FN}`,
      {
        runtime: 'nodejs',
        engine: 'microvm',
        code: 'let n = 0; exports.handler = async () => ({ n: ++n, has: Boolean(process.env.VAULT_PASS) });',
        secrets: { VAULT_PASS: 'vault-pass' },
        timeoutMs: 60_000,
        maxSandboxes: 1,
        keepAlive: 500,
      },
      admin,
    );
    assert.ok(deployed.status < 300, deployed.text);
    const called = await tenants.t.request('POST', `/v1/functions/${FN}/invoke`, {}, admin);
    assert.deepEqual(called.json, { n: 1, has: true }, called.text);
    const standby = await until('A’s sandbox in standby', async () =>
      (await listed(A)).find((s) => s.functionName === FN && s.state === 'standby'),
    );
    assert.equal(standby.namespace, A);
    const saved = await files('standby');
    assert.equal(saved.length, 1);
    assert.equal((await stat(path.join(tenants.t.dataDir, 'microvm', 'standby', saved[0] ?? ''))).mode & 0o777, 0o600);

    for (const role of ['admin', 'reader'] as const) {
      const seen = await listed(B, role);
      assert.deepEqual(
        seen.filter((s) => s.id === standby.id),
        [],
        `B's ${role} lists A's standby sandbox`,
      );
    }
    const bAdmin = tenants.as(B, 'admin');
    const attempts = [
      await tenants.t.request('DELETE', `/v1/sandboxes/${standby.id}`, undefined, bAdmin),
      await tenants.t.request('PATCH', `/v1/sandboxes/${standby.id}`, { memoryMb: 512 }, bAdmin),
      await tenants.t.request('POST', `/v1/sandboxes/${standby.id}/migrate`, {}, bAdmin),
    ];
    for (const r of attempts) assert.equal(r.status, 404, `B reached A's standby sandbox: ${r.status} ${r.text}`);
    assert.deepEqual(await files('standby'), saved, "B's requests left A's saved state alone");

    const gone = await tenants.t.request('DELETE', `/v1/namespaces/${A}?force=1`);
    assert.equal(gone.status, 200, gone.text);
    await until(
      "namespace A's standby state and function snapshots deleted",
      async () =>
        [...(await files('standby')), ...(await files('function-snapshots'))].length === 0 ? true : undefined,
      60,
    );
  });
});
