// A redeploy drops nothing: calls keep answering while a function is
// redeployed under load (the new version takes new calls, the old version's
// sandboxes finish theirs), and concurrent first deploys of one name tell
// exactly one caller 201 created, on SQLite and on PostgreSQL.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.ts';
import { createTestDatabase } from '../storage/pg-database.ts';

const CALLERS = 8;
const LOAD_MS = 3_000;
const REDEPLOYS = 4;

/** Function code that answers with the version that ran it and the generation of its code; `sleepMs` keeps each call in flight. */
const code = (gen: number, sleepMs: number) =>
  `exports.handler = async (event, context) => { ${sleepMs ? `await new Promise((r) => setTimeout(r, ${sleepMs}));` : ''} return { v: Number(context.functionVersion), gen: ${gen} }; };`;

interface LoadResult {
  ok: number;
  failures: string[];
  /** Answers from a version older than the one current when the call was sent. */
  stale: string[];
}

/**
 * CALLERS callers send sync calls for LOAD_MS while the function is redeployed
 * REDEPLOYS times with new code; every answer must come from the version
 * current when the call was sent, or a newer one.
 */
async function redeployUnderLoad(t: TestPlatform, name: string, sleepMs: number): Promise<LoadResult> {
  const first = await t.deploy(name, code(1, sleepMs), { concurrency: 4 });
  assert.equal(first.status, 201, first.text);
  let current = first.json.version as number;
  const result: LoadResult = { ok: 0, failures: [], stale: [] };
  const until = Date.now() + LOAD_MS;
  const caller = async () => {
    while (Date.now() < until) {
      const floor = current;
      const r = await t.invoke(name, {});
      if (r.status !== 200) result.failures.push(`${r.status} ${r.text.slice(0, 200)}`);
      else if (r.json.v < floor) result.stale.push(`answer from v${r.json.v} sent when v${floor} was current`);
      else result.ok++;
    }
  };
  const deployer = async () => {
    for (let gen = 2; gen <= REDEPLOYS + 1; gen++) {
      await new Promise((r) => setTimeout(r, LOAD_MS / (REDEPLOYS + 2)));
      const d = await t.deploy(name, code(gen, sleepMs), { concurrency: 4 });
      assert.equal(d.status, 200, d.text);
      current = d.json.version;
    }
  };
  await Promise.all([deployer(), ...Array.from({ length: CALLERS }, caller)]);
  return result;
}

describe('redeploy under load (embedded, process engine)', () => {
  let t: TestPlatform;
  before(async () => {
    t = await startTestPlatform();
  });
  after(() => t.close());

  const check = async (name: string, r: LoadResult) => {
    assert.deepEqual(
      r.failures.slice(0, 5),
      [],
      `${r.failures.length} of ${r.ok + r.failures.length + r.stale.length} calls failed`,
    );
    assert.deepEqual(r.stale, []);
    assert.ok(r.ok >= CALLERS, `only ${r.ok} calls answered`);
    assert.deepEqual(
      await oldSandboxesLeft(t, name),
      [],
      "the old versions' sandboxes are disposed once their calls are done",
    );
  };

  it('drops no quick call while the function is redeployed several times', { timeout: 60_000 }, async () => {
    await check('quick', await redeployUnderLoad(t, 'quick', 0));
  });

  it(
    'lets calls in flight (200 ms each) finish on their version while a new one takes over',
    { timeout: 60_000 },
    async () => {
      await check('slow', await redeployUnderLoad(t, 'slow', 200));
    },
  );

  it('tells exactly one of 8 concurrent first deploys of a name 201 created, the others 200 with their version', async () => {
    await concurrentFirstDeploys(t);
  });
});

describe('concurrent first deploys (PostgreSQL store)', async () => {
  const store = await createTestDatabase();
  let t: TestPlatform;
  before(async () => {
    t = await startTestPlatform({ store });
  });
  after(() => t.close());

  it('tells exactly one of 8 concurrent first deploys of a name 201 created, the others 200 with their version', async () => {
    await concurrentFirstDeploys(t);
  });
});

/** Sandboxes of the function's older versions still there after up to 10 s. */
async function oldSandboxesLeft(t: TestPlatform, name: string): Promise<string[]> {
  const current = (await t.request('GET', `/v1/functions/${name}`)).json.version as number;
  const until = Date.now() + 10_000;
  for (;;) {
    const sandboxes = (await t.request('GET', '/v1/sandboxes')).json.sandboxes as {
      functionName: string;
      functionVersion: number;
    }[];
    const left = sandboxes
      .filter((s) => s.functionName === name && s.functionVersion < current)
      .map((s) => `${s.functionName}@${s.functionVersion}`);
    if (left.length === 0 || Date.now() > until) return left;
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function concurrentFirstDeploys(t: TestPlatform): Promise<void> {
  const answers = await Promise.all(
    Array.from({ length: 8 }, (_, i) => t.deploy('racer', `exports.handler = async () => ${i};`)),
  );
  const statuses = answers.map((a) => a.status).sort();
  assert.deepEqual(statuses, [200, 200, 200, 200, 200, 200, 200, 201], answers.map((a) => a.text).join('\n'));
  const versions = answers.map((a) => a.json.version as number).sort((x, y) => x - y);
  assert.deepEqual(versions, [1, 2, 3, 4, 5, 6, 7, 8]);
  const created = answers.find((a) => a.status === 201);
  assert.equal(created?.json.version, 1, 'the 201 goes to the deploy that made the function');
}
