// Deleting a version that something names by number (`app:1`) is refused with
// a 409 naming each referrer, on SQLite and on PostgreSQL: a trigger, a
// sequence step, a destination, and the same in an older version of a function
// that an alias still sends calls to. Once each referrer is moved or deleted
// the version goes. Another namespace naming its own `app:1` does not count.
// An alias named as `app:live` by a trigger or a destination is held the same way.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.ts';
import { platformStore, STORE_KINDS, type StoreKind } from '../helpers/stores.ts';

const code = (gen: number) => `exports.handler = async () => ({ gen: ${gen} });`;

function suite(kind: StoreKind): void {
  describe(`version delete refused while named (${kind})`, async () => {
    const options = await platformStore(kind);
    let t: TestPlatform;
    const ok = async (p: Promise<{ status: number; text: string }>, status: number) => {
      const r = await p;
      assert.equal(r.status, status, r.text);
    };
    before(async () => {
      t = await startTestPlatform(options);
      for (let gen = 1; gen <= 4; gen++) await ok(t.deploy('app', code(gen)), gen === 1 ? 201 : 200);
    });
    after(() => t?.close());

    it('names the trigger, the sequence and the destination; each moved, the version goes', async () => {
      const never = { type: 'cron', schedule: '0 0 1 1 *', function: 'app:1' };
      await ok(t.request('PUT', '/v1/triggers/yearly', never), 201);
      await ok(t.request('PUT', '/v1/functions/pipe', { kind: 'sequence', steps: ['app:1', 'app'] }), 201);
      await ok(t.deploy('audit', code(0), { destinations: { onFailure: { function: 'app:1' } } }), 201);
      // Another namespace's trigger naming its own app:1 is no referrer of this one.
      const other = { 'x-nimbus-namespace': 'vr-other' };
      await ok(t.request('POST', '/v1/namespaces', { name: 'vr-other' }), 201);
      await ok(t.request('PUT', '/v1/functions/app', { runtime: 'nodejs', code: code(9) }, other), 201);
      await ok(t.request('PUT', '/v1/triggers/yearly', never, other), 201);

      const refused = await t.request('DELETE', '/v1/functions/app/versions/1');
      assert.equal(refused.status, 409, refused.text);
      const message = String(refused.json.error.message);
      assert.match(message, /named as app:1 by /);
      for (const who of ['trigger "yearly"', 'sequence "pipe"', 'destinations.onFailure of "audit"'])
        assert.ok(message.includes(who), `${who} missing from: ${message}`);
      assert.equal((await t.invoke('app:1')).json.gen, 1, 'the refused version still runs');
      // Version 2 is named by nothing: it goes at once.
      await ok(t.request('DELETE', '/v1/functions/app/versions/2'), 200);

      await ok(t.request('PUT', '/v1/triggers/yearly', { ...never, function: 'app:3' }), 200);
      await ok(t.request('PUT', '/v1/functions/pipe', { kind: 'sequence', steps: ['app'] }), 200);
      const left = await t.request('DELETE', '/v1/functions/app/versions/1');
      assert.equal(left.status, 409, left.text);
      assert.doesNotMatch(left.json.error.message, /trigger|sequence "pipe"/);
      assert.match(left.json.error.message, /destinations\.onFailure of "audit"/);
      await ok(t.request('DELETE', '/v1/functions/audit'), 200);
      await ok(t.request('DELETE', '/v1/functions/app/versions/1'), 200);
      assert.equal((await t.invoke('app:1')).status, 404);
      // The version the trigger now names is held in its turn.
      assert.match((await t.request('DELETE', '/v1/functions/app/versions/3')).json.error.message, /trigger "yearly"/);
    });

    it('counts an older version of a sequence while an alias still sends calls to it', async () => {
      await ok(t.request('PUT', '/v1/functions/chain', { kind: 'sequence', steps: ['app:3'] }), 201);
      await ok(t.request('PUT', '/v1/functions/chain/aliases/old', { version: 1 }), 201);
      await ok(t.request('PUT', '/v1/functions/chain', { kind: 'sequence', steps: ['app'] }), 200);
      await ok(t.request('DELETE', '/v1/triggers/yearly'), 200);
      const refused = await t.request('DELETE', '/v1/functions/app/versions/3');
      assert.equal(refused.status, 409, refused.text);
      assert.match(refused.json.error.message, /sequence "chain" v1 \(alias old\)/);
      await ok(t.request('PUT', '/v1/functions/chain/aliases/old', { version: 2 }), 200);
      await ok(t.request('DELETE', '/v1/functions/app/versions/3'), 200);
      // The other namespace's app:1 was never touched.
      const other = await t.request('GET', '/v1/functions/app/versions', undefined, {
        'x-nimbus-namespace': 'vr-other',
      });
      assert.deepEqual(
        other.json.versions.map((v: { version: number }) => v.version),
        [1],
      );
    });

    it('refuses to delete an alias a trigger or a destination names as name:alias, until they move', async () => {
      await ok(t.request('PUT', '/v1/functions/app/aliases/live', { version: 4 }), 201);
      await ok(t.request('PUT', '/v1/triggers/on-live', { type: 'topic', topic: 'vr', function: 'app:live' }), 201);
      await ok(t.deploy('notify', code(0), { destinations: { onSuccess: { function: 'app:live' } } }), 201);
      const refused = await t.request('DELETE', '/v1/functions/app/aliases/live');
      assert.equal(refused.status, 409, refused.text);
      assert.match(
        refused.json.error.message,
        /named as app:live by trigger "on-live", destinations\.onSuccess of "notify"/,
      );
      assert.equal((await t.request('GET', '/v1/functions/app/aliases/live')).status, 200);
      await ok(t.request('DELETE', '/v1/triggers/on-live'), 200);
      await ok(t.deploy('notify', code(0), { destinations: { onSuccess: { function: 'app' } } }), 200);
      await ok(t.request('DELETE', '/v1/functions/app/aliases/live'), 200);
    });
  });
}

for (const kind of STORE_KINDS) suite(kind);
