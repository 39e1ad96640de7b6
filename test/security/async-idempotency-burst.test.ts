// Attacker's check of batched async accepts (group-committed queue writes):
// an Idempotency-Key must still dedupe when many retries of one call arrive
// at once (they land in one group commit), and it is scoped to the caller's
// namespace: B sending the same key to a function of the same name gets its
// own call, never A's activation id (which would let B read A's outcome or
// suppress A's call). Real embedded platform, real sandboxes, through the API.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { A, B, FN, twoTenants, type Tenants } from '../hostile/tenancy-fixture.ts';

const BURST = 40;
const KEY = 'burst-key-1';

describe('async accepts: an idempotency key under a burst, per namespace', () => {
  let tenants: Tenants;
  before(async () => {
    tenants = await twoTenants();
    const made = await tenants.t.request(
      'PUT',
      `/v1/functions/${FN}`,
      { runtime: 'nodejs', engine: 'isolate', code: 'export const handler = (e) => ({ from: "attacker", e });' },
      tenants.as(B, 'admin'),
    );
    assert.ok(made.status < 300, made.text);
  });
  after(() => tenants.t.close());

  const burst = (ns: string, n: number) =>
    Promise.all(
      Array.from({ length: n }, (_, i) =>
        tenants.t.request(
          'POST',
          `/v1/functions/${FN}/invoke?async=1`,
          { i },
          { ...tenants.as(ns, 'invoker'), 'idempotency-key': KEY },
        ),
      ),
    );
  const asyncCount = async (ns: string) => {
    const r = await tenants.t.request(
      'GET',
      `/v1/activations?function=${FN}&limit=1000`,
      undefined,
      tenants.as(ns, 'reader'),
    );
    assert.equal(r.status, 200, r.text);
    return (r.json.activations as unknown[]).length;
  };

  /** Polls an activation as the namespace's reader until it ends (bounded). */
  const settled = async (ns: string, id: string) => {
    for (let i = 0; i < 300; i++) {
      const r = await tenants.t.request('GET', `/v1/activations/${id}`, undefined, tenants.as(ns, 'reader'));
      if (r.status === 200 && !['queued', 'running'].includes(r.json.status)) return r.json;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`activation ${id} of ${ns} did not end within 30 s`);
  };

  it('accepts one call per namespace for a burst of one key, and each namespace sees only its own', async () => {
    const beforeA = await asyncCount(A);
    const beforeB = await asyncCount(B);
    const [fromA, fromB] = await Promise.all([burst(A, BURST), burst(B, BURST)]);
    for (const r of [...fromA, ...fromB]) assert.equal(r.status, 202, r.text);
    const idsA = new Set(fromA.map((r) => r.json.activationId as string));
    const idsB = new Set(fromB.map((r) => r.json.activationId as string));
    assert.equal(idsA.size, 1, `A's burst got ${idsA.size} activations: ${[...idsA].join(', ')}`);
    assert.equal(idsB.size, 1, `B's burst got ${idsB.size} activations: ${[...idsB].join(', ')}`);
    const [idA] = idsA;
    const [idB] = idsB;
    assert.notEqual(idA, idB, "B's key answered with A's activation");
    assert.equal(fromA.filter((r) => r.json.duplicate === false).length, 1, 'exactly one of A is the first');
    assert.equal(fromB.filter((r) => r.json.duplicate === false).length, 1, 'exactly one of B is the first');
    const doneA = await settled(A, idA ?? '');
    const doneB = await settled(B, idB ?? '');
    assert.equal(doneA.status, 'success', JSON.stringify(doneA));
    assert.equal(doneB.status, 'success', JSON.stringify(doneB));
    assert.equal(JSON.stringify(doneB).includes('victim'), false, "B's call ran A's function");
    const seen = await tenants.t.request('GET', `/v1/activations/${idA}`, undefined, tenants.as(B, 'reader'));
    assert.equal(seen.status, 404, "B reads A's activation");
    assert.equal(await asyncCount(A), beforeA + 1, 'A ran the call once');
    assert.equal(await asyncCount(B), beforeB + 1, 'B ran the call once');
  });
});
