// Attacker's check of microVM function snapshots (issue 18): every restore of
// one snapshot starts from the same memory, so any random source that is not
// reseeded on restore hands two sandboxes (and two callers) the same
// "random" values: the same session ids, the same key pairs. This restores
// one snapshot twice and draws from every way a Node function gets
// randomness after init. node:crypto's helpers (randomInt keeps a cache of
// its own), Web Crypto's getRandomValues and randomUUID must differ, and so
// must key generation (OpenSSL's DRBGs, below node's JavaScript) and the
// guest kernel's CRNG (/dev/urandom). The machine-state snapshot is shared by
// every function of every tenant: two VMs restored from it (one per data
// directory here, the second with function snapshots off) must differ too.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MicrovmDriver } from '../../src/sandbox/microvm/driver.ts';
import type { InvokeOutcome, Sandbox } from '../../src/sandbox/driver.ts';
import { microvmSpec, microvmTestLog } from '../helpers/microvm-spec.ts';
import { bundledAgent } from '../helpers/agent.ts';
import { createTempDir } from '../helpers/temp.ts';

const MINUTE = 60_000;
const dataDir = await createTempDir('nimbus-sec-entropy-data', 0o755);
const functionsDir = await createTempDir('nimbus-sec-entropy-fn', 0o755);
const otherDataDir = await createTempDir('nimbus-sec-entropy-data2', 0o755);
const SETUP_TIMEOUT = 15 * 60_000;

// Nothing random is drawn at init: whatever repeats comes from a source the restore did not reseed.
const SOURCE = `
const crypto = require('crypto');
const fs = require('fs');
const hex = (b) => Buffer.from(b).toString('hex');
function kernel() {
  const fd = fs.openSync('/dev/urandom', 'r');
  try { const b = Buffer.alloc(16); fs.readSync(fd, b, 0, 16, null); return hex(b); } finally { fs.closeSync(fd); }
}
exports.handler = async () => {
  const hmac = await crypto.subtle.generateKey({ name: 'HMAC', hash: 'SHA-256' }, true, ['sign']);
  return {
    randomInt: crypto.randomInt(2 ** 47),
    ed25519: crypto.generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' }).toString('hex'),
    ecdh: crypto.createECDH('prime256v1').generateKeys('hex'),
    subtleHmac: hex(await crypto.subtle.exportKey('raw', hmac)),
    asyncBytes: await new Promise((r, j) => crypto.randomBytes(16, (e, b) => (e ? j(e) : r(hex(b))))),
    webValues: hex(globalThis.crypto.getRandomValues(new Uint8Array(16))),
    uuid: globalThis.crypto.randomUUID(),
    kernel: kernel(),
  };
};
`;

type Draws = Record<string, string | number>;

function valueOf(outcome: InvokeOutcome): Draws {
  assert.ok(outcome.ok && outcome.output?.kind === 'value', JSON.stringify(outcome).slice(0, 1500));
  return outcome.output.value as Draws;
}

describe('microvm function snapshots: randomness after a restore (real QEMU)', () => {
  let driver: MicrovmDriver;
  let machineOnly: MicrovmDriver;
  let artifactPath = '';
  const sandboxes: Sandbox[] = [];
  const spec = () => microvmSpec({ functionName: 'team-sec/entropy', artifactPath, artifactSha256: 'entropy-v1' });
  const create = async (from = driver) => {
    const sandbox = await from.create(spec());
    sandboxes.push(sandbox);
    return sandbox;
  };
  const call = async (sandbox: Sandbox) =>
    valueOf(
      await sandbox.invoke({ activationId: randomUUID(), input: { kind: 'event', event: {} }, timeoutMs: MINUTE }),
    );

  before(async () => {
    artifactPath = path.join(functionsDir, 'entropy.cjs');
    await writeFile(artifactPath, SOURCE);
    const agentPath = await bundledAgent();
    driver = new MicrovmDriver({ dataDir, agentPath, log: microvmTestLog, egress: { allow: [] } });
    machineOnly = new MicrovmDriver(
      { dataDir: otherDataDir, agentPath, log: microvmTestLog, egress: { allow: [] } },
      { functionSnapshots: false },
    );
  });
  after(async () => {
    await Promise.all(sandboxes.map((s) => s.dispose()));
    await driver.dispose();
    await machineOnly.dispose();
  });

  let fromA: Draws = {};
  let fromB: Draws = {};
  let fromC: Draws = {};
  let fromD: Draws = {};
  const repeated = (keys: string[], x = fromB, y = fromC) => keys.filter((k) => x[k] === y[k]);
  const ALL = ['randomInt', 'asyncBytes', 'webValues', 'uuid', 'ed25519', 'ecdh', 'subtleHmac', 'kernel'];

  before(
    async () => {
      const a = await create();
      assert.equal(a.info().details.start, 'restore');
      fromA = await call(a);
      await driver.functionSnapshotsSettled();
      const [b, c] = await Promise.all([create(), create()]);
      assert.equal(b.info().details.start, 'function-snapshot');
      assert.equal(c.info().details.start, 'function-snapshot');
      [fromB, fromC] = await Promise.all([call(b), call(c)]);
      // Same image, same machine configuration: restored from the same saved state (via the machine cache).
      const d = await create(machineOnly);
      assert.equal(d.info().details.start, 'restore');
      assert.equal(d.info().details.snapshot, a.info().details.snapshot);
      fromD = await call(d);
    },
    { timeout: SETUP_TIMEOUT },
  );

  it('gives two restores different values from node:crypto and Web Crypto random functions', () => {
    const same = repeated(['randomInt', 'asyncBytes', 'webValues', 'uuid']);
    assert.deepEqual(same, [], `the same values in two restores: ${JSON.stringify({ fromB, fromC })}`);
  });

  it('gives two restores of a function snapshot different generated keys and kernel random bytes', () => {
    const same = repeated(['ed25519', 'ecdh', 'subtleHmac', 'kernel']);
    assert.deepEqual(same, [], `the same values in two restores: ${JSON.stringify({ fromB, fromC })}`);
  });

  it('gives two restores of the machine-state snapshot (shared by all tenants) different values everywhere', () => {
    const same = repeated(ALL, fromA, fromD);
    assert.deepEqual(same, [], `the same values in two restores: ${JSON.stringify({ fromA, fromD })}`);
  });
});
