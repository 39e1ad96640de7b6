// Function state on every engine (the conformance matrix): the same function
// reaches its KV store over each sandbox's control channel, without network.
// Several sandboxes of one function count to 100 with concurrent increments
// and lose none; a TTL expires; every limit is an Error the function catches;
// one function's sandboxes share a store that another function cannot see;
// fetch handlers get env.KV and OpenWhisk's main gets context.kv.
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, it } from 'node:test';
import { forEachDriver } from '../sandbox/conformance/matrix.ts';
import { event, responseOf, valueOf } from '../sandbox/conformance/kit.ts';
import { useBundledFunctions } from '../helpers/functions.ts';
import { createTempDir } from '../helpers/temp.ts';
import { SqliteStore } from '../../src/storage/sqlite/store.ts';
import { KvStore } from '../../src/state/kv-store.ts';
import { statePort } from '../../src/state/kv-port.ts';
import type { SandboxSpec } from '../../src/sandbox/driver.ts';

const fx = await useBundledFunctions(path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures'), [
  'kv-lambda',
  'kv-fetch',
]);
const store = new SqliteStore(path.join(await createTempDir('nimbus-kv-engines'), 'nimbus.db'));
await store.migrate();
after(() => store.close());
const kv = new KvStore(store.sql);
let functions = 0;

/** A fresh function name: each sandbox made with its spec gets its own port to that function's store. */
function fn(): { name: string; spec: (handler?: string) => Partial<SandboxSpec> } {
  const name = `kv-fn-${++functions}-${Date.now()}`;
  return { name, spec: (handler) => ({ functionName: name, handler, state: statePort(kv, name) }) };
}

await forEachDriver(({ kind, kit, ms }) => {
  const timeout = ms(90_000);

  it(
    'counts to 100 with concurrent increments from several sandboxes of one function, losing none',
    { timeout },
    async () => {
      const f = fn();
      const sandboxes = await Promise.all(
        Array.from({ length: kind === 'microvm' ? 2 : 4 }, () => kit.create(fx['kv-lambda'], f.spec('count'))),
      );
      const calls = 100 / 5 / sandboxes.length;
      const seen = (
        await Promise.all(
          sandboxes.map(async (s) => {
            const values: number[] = [];
            for (let i = 0; i < calls; i++)
              values.push(...(valueOf(await kit.invoke(s, event({ times: 5 }))) as number[]));
            return values;
          }),
        )
      ).flat();
      assert.deepEqual(
        seen.sort((a, b) => a - b),
        Array.from({ length: 100 }, (_, i) => i + 1),
      );
      assert.equal((await kv.get(f.name, 'hits'))?.value, '100');
    },
  );

  it('stores, reads, lists and deletes JSON values; one function’s store is not another’s', { timeout }, async () => {
    const f = fn();
    const other = fn();
    const [a, b] = await Promise.all([
      kit.create(fx['kv-lambda'], f.spec('roundTrip')),
      kit.create(fx['kv-lambda'], f.spec('get')),
    ]);
    assert.deepEqual(valueOf(await kit.invoke(a, event({}))), {
      doc: { list: [1, 2], text: 'ünïcode', flag: true, none: null },
      page1: ['p/1'],
      page2: ['p/2'],
      deleted: [true, false],
      after: null,
    });
    assert.deepEqual(
      valueOf(await kit.invoke(b, event({ key: 'p/2' }))),
      { value: 'two' },
      'a second sandbox shares it',
    );
    const stranger = await kit.create(fx['kv-lambda'], other.spec('get'));
    assert.deepEqual(valueOf(await kit.invoke(stranger, event({ key: 'p/2' }))), { value: null });
    const ow = await kit.create(fx['kv-lambda'], f.spec('main'));
    assert.deepEqual(valueOf(await kit.invoke(ow, event({ key: 'q/1' }))), { main: 1 });
  });

  it('gives fetch handlers env.KV', { timeout }, async () => {
    const f = fn();
    const s = await kit.create(fx['kv-fetch'], f.spec());
    assert.equal(responseOf(await kit.invoke(s, event({}))).body, '1');
    assert.equal(responseOf(await kit.invoke(s, event({}))).body, '2');
  });

  it('hides a key once its TTL has passed', { timeout }, async () => {
    const f = fn();
    const [put, get] = await Promise.all([
      kit.create(fx['kv-lambda'], f.spec('put')),
      kit.create(fx['kv-lambda'], f.spec('get')),
    ]);
    assert.equal(valueOf(await kit.invoke(put, event({ key: 'brief', value: 'hello', ttlSeconds: 1 }))), 'stored');
    assert.deepEqual(valueOf(await kit.invoke(get, event({ key: 'brief' }))), { value: 'hello' });
    await new Promise((r) => setTimeout(r, 1100));
    assert.deepEqual(valueOf(await kit.invoke(get, event({ key: 'brief' }))), { value: null });
  });

  it('makes every limit an Error the function catches, and keeps working', { timeout }, async () => {
    const s = await kit.create(fx['kv-lambda'], fn().spec('limits'));
    const caught = valueOf(await kit.invoke(s, event({}))) as Record<string, string>;
    assert.match(caught.longKey!, /513 bytes is over the 512-byte limit/);
    assert.match(caught.bigValue!, /over the 1048576-byte limit/);
    assert.match(caught.notJson!, /JSON-serialisable/);
    assert.match(caught.badTtl!, /ttlSeconds must be a whole number/);
    assert.match(caught.bigPage!, /limit must be a whole number from 1 to 1000/);
    assert.match(caught.notANumber!, /not a number/);
    assert.equal(caught.after, 'still works');
    assert.equal(s.state, 'ready');
  });

  it('carries a value at the 1 MB limit whatever the sandbox’s result limit', { timeout }, async () => {
    const s = await kit.create(fx['kv-lambda'], { ...fn().spec('bigPut'), resultLimitBytes: 64 * 1024 });
    const chars = (1024 * 1024) / 2 - 2; // JSON: a quote and a backslash each, plus the two quotes around
    assert.equal(valueOf(await kit.invoke(s, event({ chars }))), chars);
    assert.equal(s.state, 'ready');
  });
});
