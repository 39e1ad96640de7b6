// Two realms for checking the isolate runtime's Web classes against Node's
// own: a probe (the source of an `(input) => value` function, async allowed)
// runs on a table of inputs inside a real isolate (the isolate engine's
// bubblewrap-confined pool, with the runtime exactly as functions see it) and
// in Node; each outcome is a JSON value or the name of the error thrown.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import vm from 'node:vm';
import type { Sandbox } from '../../src/sandbox/driver.ts';
import { IsolateDriver } from '../../src/sandbox/isolate/driver.ts';
import { bundleFunctions } from '../helpers/functions.ts';
import { createTempDir } from '../helpers/temp.ts';

export type Outcome = { value: unknown } | { error: string };

const errorName = `(e) => (e && typeof e === 'object' && typeof e.name === 'string' ? e.name : typeof e)`;

/** Runs a probe over inputs, one outcome each, JSON-normalized (what crosses the isolate's boundary). */
const RUN_PROBE = `async (probe, inputs) => {
  const errorName = ${errorName};
  const out = [];
  for (const input of inputs) {
    try { out.push({ value: await probe(input) }); } catch (e) { out.push({ error: errorName(e) }); }
  }
  return JSON.parse(JSON.stringify(out));
}`;

const PROBE_FUNCTION = `
const runProbe = ${RUN_PROBE};
export async function handler(event) {
  return runProbe((0, eval)('(' + event.probe + ')'), event.inputs);
}
`;

export interface Realms {
  /** Outcomes in the isolate. */
  isolate(probe: string, inputs: readonly unknown[]): Promise<Outcome[]>;
  /** Outcomes in Node, with Node's own globals. */
  node(probe: string, inputs: readonly unknown[]): Promise<Outcome[]>;
  /** Asserts both realms agree on every input, listing every disagreement at once. */
  agree(probe: string, inputs: readonly unknown[]): Promise<void>;
}

/** Call at a test file's top level: starts a pool (stopped by an `after` hook of the caller). */
export async function openRealms(after: (fn: () => Promise<void>) => void): Promise<Realms> {
  const dataDir = await createTempDir('nimbus-web-realm', 0o755);
  const fnDir = await createTempDir('nimbus-web-probe', 0o755);
  await writeFile(path.join(fnDir, 'probe.ts'), PROBE_FUNCTION);
  const fn = (await bundleFunctions(fnDir, path.join(fnDir, 'out'), ['probe'] as const)).probe;
  const driver = new IsolateDriver({ dataDir, agentPath: '', log: () => undefined, egress: { allow: [] } });
  let sandbox: Sandbox | undefined;
  after(async () => {
    await sandbox?.dispose();
    await driver.dispose();
  });
  const id = `web-${randomUUID().slice(0, 8)}`;
  sandbox = await driver.create({
    id,
    functionName: id,
    functionVersion: 1,
    artifactPath: fn.path,
    artifactSha256: fn.sha256,
    env: {},
    network: false,
    memoryMb: 128,
    cpus: 1,
    resultLimitBytes: 4 << 20,
    logLimitBytes: 65536,
  });
  const box = sandbox;
  const runInNode = vm.runInThisContext(`(${RUN_PROBE})`) as (
    probe: unknown,
    inputs: readonly unknown[],
  ) => Promise<Outcome[]>;

  const realms: Realms = {
    async isolate(probe, inputs) {
      const o = await box.invoke({
        activationId: randomUUID(),
        input: { kind: 'event', event: { probe, inputs } },
        timeoutMs: 20_000,
      });
      assert.ok(
        o.ok && o.output?.kind === 'value',
        `the probe failed in the isolate: ${JSON.stringify(o).slice(0, 600)}`,
      );
      return o.output.value as Outcome[];
    },
    async node(probe, inputs) {
      // The same inputs the isolate gets: what survives JSON (undefined in an array becomes null).
      return runInNode(vm.runInThisContext(`(${probe})`), JSON.parse(JSON.stringify(inputs)) as unknown[]);
    },
    async agree(probe, inputs) {
      const [got, want] = await Promise.all([realms.isolate(probe, inputs), realms.node(probe, inputs)]);
      const differ = inputs.flatMap((input, i) =>
        isDeepEqual(got[i], want[i]) ? [] : [{ input, isolate: got[i], node: want[i] }],
      );
      assert.deepEqual(differ, [], `the isolate and Node disagree on ${differ.length} of ${inputs.length} inputs`);
    },
  };
  return realms;
}

function isDeepEqual(a: unknown, b: unknown): boolean {
  try {
    assert.deepStrictEqual(a, b);
    return true;
  } catch {
    return false;
  }
}
