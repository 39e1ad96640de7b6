// Function state against a hostile function: the store a KV operation reaches
// is the one the invoker bound to the sandbox, whatever the guest writes on its
// channel; the host re-checks every limit a guest's client would have checked,
// and caps the operations one sandbox may have waiting.
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { useBundledFunctions } from '../helpers/functions.ts';
import { createTempDir } from '../helpers/temp.ts';
import { bundledAgent } from '../helpers/agent.ts';
import { SqliteStore } from '../../src/storage/sqlite/store.ts';
import { KvStore } from '../../src/state/kv-store.ts';
import { MAX_KV_IN_FLIGHT, statePort } from '../../src/state/kv-port.ts';
import { DRIVER_FACTORIES } from '../../src/sandbox/registry.ts';
import { SandboxKit, event, valueOf } from '../sandbox/conformance/kit.ts';

const fx = await useBundledFunctions(path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures'), [
  'kv-forger',
]);
const store = new SqliteStore(path.join(await createTempDir('nimbus-kv-hostile'), 'nimbus.db'));
await store.migrate();
after(() => store.close());
const kv = new KvStore(store.sql);

describe('function state against a hostile guest', () => {
  it(
    'a raw kv frame naming another function still reaches only the sandbox’s own store',
    { timeout: 60_000 },
    async () => {
      const dataDir = await createTempDir('nimbus-kv-hostile-driver', 0o755);
      const driver = await DRIVER_FACTORIES.process!({
        dataDir,
        agentPath: await bundledAgent(),
        log: () => undefined,
        egress: { allow: [] },
      });
      after(() => driver.dispose());
      const kit = new SandboxKit(driver, (ms) => ms);
      after(() => kit.disposeAll());
      const sandbox = await kit.create(fx['kv-forger'], { functionName: 'forger', state: statePort(kv, 'forger') });
      assert.deepEqual(valueOf(await kit.invoke(sandbox, event({ victim: 'victim' }))), { own: 'forged' });
      assert.equal(await kv.get('victim', 'stolen'), undefined);
      assert.equal((await kv.get('forger', 'stolen'))?.value, '"forged"');
    },
  );

  it('re-checks the limits a client would have checked', async () => {
    const port = statePort(kv, 'checked');
    const refused = [
      { op: 'put', key: 'k'.repeat(600), value: '1' },
      { op: 'put', key: 'k', value: JSON.stringify('x'.repeat(1024 * 1024)) },
      { op: 'put', key: 'k', value: 'not json' },
      { op: 'put', key: 'k', value: '1', ttlSeconds: -5 },
      { op: 'list', prefix: '', limit: 100_000 },
      { op: 'increment', key: '', by: 1 },
    ] as const;
    for (const request of refused) {
      const answer = await port.call(request);
      assert.equal(answer.ok, false, JSON.stringify(request).slice(0, 80));
      assert.match(answer.error ?? '', /limit|JSON|ttlSeconds|empty/);
    }
    assert.deepEqual((await kv.list('checked')).keys, []);
  });

  it(`answers at most ${MAX_KV_IN_FLIGHT} waiting operations of one sandbox; the rest are refused, not queued`, async () => {
    const port = statePort(kv, 'flood');
    const answers = await Promise.all(
      Array.from({ length: 100 }, () => port.call({ op: 'increment', key: 'n', by: 1 })),
    );
    const done = answers.filter((a) => a.ok).length;
    assert.equal(done, MAX_KV_IN_FLIGHT);
    assert.match(answers.find((a) => !a.ok)?.error ?? '', /more than 64 KV operations at once/);
    assert.equal((await kv.get('flood', 'n'))?.value, String(MAX_KV_IN_FLIGHT));
    assert.equal((await port.call({ op: 'get', key: 'n' })).ok, true, 'the port serves again once they finish');
  });
});
