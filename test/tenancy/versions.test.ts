// Versions and aliases on an embedded platform, on SQLite and on PostgreSQL:
// the version list, invoking a version or an alias every way one can be named
// (?version=, ?alias=, name:N, name:alias, /fn/name:alias, async), deleting a
// version (refused for the current one and one an alias names), rollback by
// moving an alias, bad input with nothing written, and other namespaces.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.ts';
import { platformStore, STORE_KINDS, type StoreKind } from '../helpers/stores.ts';

/** Answers with the version that ran it and the generation of its code. */
const code = (gen: number) =>
  `exports.handler = async (event, context) => ({ v: Number(context.functionVersion), gen: ${gen} });`;

async function deployGenerations(t: TestPlatform, name: string, count: number): Promise<void> {
  for (let gen = 1; gen <= count; gen++) {
    const r = await t.deploy(name, code(gen));
    assert.equal(r.json.version, gen, r.text);
  }
}

function suite(kind: StoreKind): void {
  describe(`versions and aliases (${kind})`, async () => {
    const options = await platformStore(kind);
    let t: TestPlatform;
    before(async () => {
      t = await startTestPlatform(options);
      await deployGenerations(t, 'app', 3);
    });
    after(() => t?.close());

    it('lists versions with their number, artifact, config and date, and which is current', async () => {
      const r = await t.request('GET', '/v1/functions/app/versions');
      assert.equal(r.status, 200, r.text);
      const versions = r.json.versions as Record<string, unknown>[];
      assert.deepEqual(
        versions.map((v) => [v.version, v.current]),
        [
          [1, false],
          [2, false],
          [3, true],
        ],
      );
      assert.equal(new Set(versions.map((v) => v.sha256)).size, 3);
      for (const v of versions) {
        assert.match(String(v.sha256), /^[0-9a-f]{64}$/);
        assert.equal((v.config as { engine: string }).engine, 'process');
        assert.ok(!Number.isNaN(Date.parse(String(v.createdAt))));
      }
      assert.equal((await t.request('GET', '/v1/functions/nope/versions')).status, 404);
    });

    it('invokes a version by ?version= or name:N, and the current one by default', async () => {
      const byQuery = await t.invoke('app', {}, '?version=1');
      assert.deepEqual(byQuery.json, { v: 1, gen: 1 });
      assert.equal(byQuery.headers.get('x-nimbus-function-version'), '1');
      assert.deepEqual((await t.invoke('app:2')).json, { v: 2, gen: 2 });
      assert.deepEqual((await t.invoke('app')).json, { v: 3, gen: 3 });
      const record = await t.request('GET', `/v1/activations/${byQuery.headers.get('x-nimbus-activation-id')}`);
      assert.equal(record.json.functionVersion, 1);
      assert.equal(record.json.alias, undefined);
      const missing = await t.invoke('app:9');
      assert.equal(missing.status, 404);
      assert.match(missing.json.error.message, /no version 9/);
    });

    it('makes, reads, lists, moves (rollback) and deletes an alias; calls through it say so', async () => {
      const made = await t.request('PUT', '/v1/functions/app/aliases/prod', { version: 2 });
      assert.equal(made.status, 201, made.text);
      assert.deepEqual(
        { name: made.json.name, alias: made.json.alias, version: made.json.version, weights: made.json.weights },
        { name: 'app', alias: 'prod', version: 2, weights: {} },
      );
      const viaSuffix = await t.invoke('app:prod');
      assert.deepEqual(viaSuffix.json, { v: 2, gen: 2 });
      assert.equal(viaSuffix.headers.get('x-nimbus-alias'), 'prod');
      assert.equal(viaSuffix.headers.get('x-nimbus-function-version'), '2');
      const viaQuery = await t.invoke('app', {}, '?alias=prod');
      assert.deepEqual(viaQuery.json, { v: 2, gen: 2 });
      const record = await t.request('GET', `/v1/activations/${viaQuery.headers.get('x-nimbus-activation-id')}`);
      assert.equal(record.json.alias, 'prod');
      assert.equal(record.json.functionVersion, 2);
      const origin = await t.fnRequest('GET', '/fn/app:prod/some/path');
      assert.equal(origin.status, 200, origin.text);
      assert.deepEqual(origin.json, { v: 2, gen: 2 });
      assert.equal(origin.headers.get('x-nimbus-alias'), 'prod');
      const encoded = await t.fnRequest('GET', '/fn/app%3Aprod');
      assert.deepEqual(encoded.json, { v: 2, gen: 2 });

      const queued = await t.invoke('app:prod', {}, '?async=1');
      assert.equal(queued.status, 202, queued.text);
      const settled = await t.settled(queued.json.activationId);
      assert.equal(settled.status, 'success');
      assert.equal(settled.alias, 'prod');
      assert.equal(settled.functionVersion, 2);
      assert.deepEqual(settled.result, { v: 2, gen: 2 });

      const moved = await t.request('PUT', '/v1/functions/app/aliases/prod', { version: 1 });
      assert.equal(moved.status, 200, moved.text);
      assert.deepEqual((await t.invoke('app:prod')).json, { v: 1, gen: 1 }, 'rollback: the alias moved back');
      assert.equal((await t.request('GET', '/v1/functions/app/aliases/prod')).json.version, 1);
      await t.request('PUT', '/v1/functions/app/aliases/staging', { version: 3 });
      const list = await t.request('GET', '/v1/functions/app/aliases');
      assert.deepEqual(
        list.json.aliases.map((a: { alias: string; version: number }) => [a.alias, a.version]),
        [
          ['prod', 1],
          ['staging', 3],
        ],
      );
      const versions = (await t.request('GET', '/v1/functions/app/versions')).json.versions;
      assert.deepEqual(
        versions.map((v: { aliases: string[] }) => v.aliases),
        [['prod'], [], ['staging']],
      );
      assert.equal((await t.request('DELETE', '/v1/functions/app/aliases/staging')).status, 200);
      assert.equal((await t.request('GET', '/v1/functions/app/aliases/staging')).status, 404);
      assert.equal((await t.request('DELETE', '/v1/functions/app/aliases/staging')).status, 404);
      const gone = await t.invoke('app:staging');
      assert.equal(gone.status, 404);
      assert.match(gone.json.error.message, /no alias "staging"/);
    });

    it('refuses to delete the current version or one an alias names, and deletes an unused one', async () => {
      await t.request('PUT', '/v1/functions/app/aliases/prod', { version: 1 });
      await t.request('PUT', '/v1/functions/app/aliases/canary', { version: 1, weights: { '2': 0.2 } });
      const current = await t.request('DELETE', '/v1/functions/app/versions/3');
      assert.equal(current.status, 409);
      assert.match(current.json.error.message, /current version/);
      const named = await t.request('DELETE', '/v1/functions/app/versions/1');
      assert.equal(named.status, 409);
      assert.match(named.json.error.message, /alias "canary", "prod"/);
      const weighted = await t.request('DELETE', '/v1/functions/app/versions/2');
      assert.equal(weighted.status, 409, 'a version a canary weight names is in use too');
      assert.match(weighted.json.error.message, /alias "canary"/);
      await t.request('DELETE', '/v1/functions/app/aliases/canary');
      const deleted = await t.request('DELETE', '/v1/functions/app/versions/2');
      assert.equal(deleted.status, 200, deleted.text);
      assert.deepEqual(
        (await t.request('GET', '/v1/functions/app/versions')).json.versions.map((v: { version: number }) => v.version),
        [1, 3],
      );
      assert.equal((await t.invoke('app:2')).status, 404);
      assert.equal((await t.request('DELETE', '/v1/functions/app/versions/2')).status, 404);
      assert.deepEqual((await t.invoke('app:1')).json, { v: 1, gen: 1 }, 'the other old version still runs');
    });

    it('refuses bad aliases and references with 400 (or 404) and writes nothing', async () => {
      const bad: [string, unknown, RegExp][] = [
        ['w1', { version: 1, weights: { '3': 1.5 } }, /weight is from 0 to 1/],
        ['w2', { version: 1, weights: { '3': -0.1 } }, /weight is from 0 to 1/],
        ['w3', { version: 1, weights: { '3': 0.7, '2': 0.5 } }, /over 1/],
        ['w4', { version: 1, weights: { '1': 0.5 } }, /own version/],
        ['w5', { version: 1, weights: { latest: 0.5 } }, /version number/],
        ['missing', { version: 99 }, /does not exist/],
        ['missing2', { version: 1, weights: { '99': 0.1 } }, /does not exist/],
        ['noversion', {}, /version/],
        ['extra', { version: 1, color: 'red' }, /unknown field/],
        ['123', { version: 1 }, /not digits alone/],
      ];
      for (const [alias, body, message] of bad) {
        const r = await t.request('PUT', `/v1/functions/app/aliases/${alias}`, body);
        assert.equal(r.status, 400, `${alias}: ${r.text}`);
        assert.match(r.json.error.message, message, alias);
        assert.notEqual((await t.request('GET', `/v1/functions/app/aliases/${alias}`)).status, 200);
      }
      assert.equal((await t.request('PUT', '/v1/functions/nope/aliases/prod', { version: 1 })).status, 404);
      assert.equal((await t.invoke('app', {}, '?version=abc')).status, 400);
      assert.equal((await t.invoke('app', {}, '?version=0')).status, 400);
      assert.equal((await t.invoke('app', {}, '?version=1&alias=prod')).status, 400);
      assert.equal((await t.invoke('app:prod', {}, '?alias=prod')).status, 400);
      assert.equal((await t.invoke('app', {}, '?alias=a&alias=b')).status, 400);
      assert.equal((await t.invoke('app:bad.alias')).status, 400);
      assert.equal((await t.invoke('app%2Fx:prod')).status, 400, 'a name with a slash never reaches another namespace');
      assert.equal((await t.request('DELETE', '/v1/functions/app/versions/x')).status, 400);
    });

    it('keeps aliases and versions to their namespace: another namespace gets 404 everywhere', async () => {
      const ns = { 'x-nimbus-namespace': 'team-b' };
      await t.request('POST', '/v1/namespaces', { name: 'team-b' });
      for (const [method, path, body] of [
        ['GET', '/v1/functions/app/versions', undefined],
        ['DELETE', '/v1/functions/app/versions/1', undefined],
        ['GET', '/v1/functions/app/aliases', undefined],
        ['GET', '/v1/functions/app/aliases/prod', undefined],
        ['PUT', '/v1/functions/app/aliases/prod', { version: 1 }],
        ['DELETE', '/v1/functions/app/aliases/prod', undefined],
        ['POST', '/v1/functions/app:prod/invoke', {}],
        ['POST', '/v1/functions/app:1/invoke', {}],
        ['POST', '/v1/functions/app/invoke?alias=prod', {}],
      ] as const) {
        const r = await t.request(method, path, body, ns);
        assert.equal(r.status, 404, `${method} ${path}: ${r.text}`);
      }
      // team-b's own function of the same name has its own versions and aliases.
      assert.equal((await t.request('PUT', '/v1/functions/app', { runtime: 'nodejs', code: code(7) }, ns)).status, 201);
      const own = await t.request('PUT', '/v1/functions/app/aliases/prod', { version: 1 }, ns);
      assert.equal(own.status, 201, own.text);
      assert.deepEqual((await t.request('POST', '/v1/functions/app:prod/invoke', {}, ns)).json, { v: 1, gen: 7 });
      assert.deepEqual((await t.invoke('app:prod')).json, { v: 1, gen: 1 }, "default's prod is untouched");
    });

    it('never leaves an alias pointing at a deleted version when a move and a delete race', async () => {
      await deployGenerations(t, 'race', 1);
      for (let gen = 2; gen <= 9; gen++) {
        assert.equal((await t.deploy('race', code(gen))).json.version, gen);
        const [moved, deleted] = await Promise.all([
          t.request('PUT', '/v1/functions/race/aliases/live', { version: gen - 1 }),
          t.request('DELETE', `/v1/functions/race/versions/${gen - 1}`),
        ]);
        // Exactly one wins: the alias (and the delete is refused) or the delete (and the alias is refused).
        assert.deepEqual(
          [moved.status === 400 || moved.status < 300, deleted.status === 409 || deleted.status === 200],
          [true, true],
          `${moved.text} ${deleted.text}`,
        );
        assert.equal(moved.status < 300, deleted.status === 409, `${moved.text} ${deleted.text}`);
        const live = await t.request('GET', '/v1/functions/race/aliases/live');
        if (live.status === 200) {
          const target = await t.invoke('race:live');
          assert.equal(target.status, 200, `alias live -> v${live.json.version}: ${target.text}`);
        }
      }
    });

    it('deletes the aliases with the function', async () => {
      await deployGenerations(t, 'short', 2);
      assert.equal((await t.request('PUT', '/v1/functions/short/aliases/prod', { version: 1 })).status, 201);
      assert.equal((await t.request('DELETE', '/v1/functions/short')).status, 200);
      assert.equal((await t.deploy('short', code(5))).status, 201);
      assert.deepEqual((await t.request('GET', '/v1/functions/short/aliases')).json.aliases, []);
      assert.equal((await t.invoke('short:prod')).status, 404);
    });
  });
}

for (const kind of STORE_KINDS) suite(kind);
