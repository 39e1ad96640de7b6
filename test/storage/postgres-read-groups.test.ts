// Reads gathered into one statement (postgres/read-groups.ts), and the store's
// use of them: async runs starting together read their queue entries and
// records in one statement, each seeing its own; reads arriving while one
// statement is in flight share the next; while reads keep coming a group waits
// for more; a failed statement fails only its group.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ReadGroups } from '../../src/storage/postgres/read-groups.ts';
import { PostgresStore } from '../../src/storage/postgres/store.ts';
import { createTestDatabase } from './pg-database.ts';
import { activation, entry } from './records.ts';

describe('postgres read groups', async () => {
  const url = await createTestDatabase();
  const store = new PostgresStore(url);
  before(() => store.migrate());
  after(() => store.close());

  it('reads keys asked together in one statement; a repeated key and a missing one each get theirs', async () => {
    const reads: string[][] = [];
    const groups = new ReadGroups<string>(async (keys) => {
      reads.push(keys);
      return new Map(keys.filter((k) => k !== 'missing').map((k) => [k, `value of ${k}`]));
    });
    const asked = ['a', 'b', 'a', 'missing', 'c'];
    assert.deepEqual(await Promise.all(asked.map((k) => groups.get(k))), [
      'value of a',
      'value of b',
      'value of a',
      undefined,
      'value of c',
    ]);
    assert.deepEqual(reads, [['a', 'b', 'missing', 'c']]);
  });

  it('reads asked while a statement is in flight share the next one; a failure fails only its group', async () => {
    const reads: string[][] = [];
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const groups = new ReadGroups<string>(async (keys) => {
      reads.push(keys);
      if (reads.length === 1) {
        await held;
        throw new Error('database away');
      }
      return new Map(keys.map((k) => [k, k]));
    });
    const first = groups.get('x');
    await new Promise((r) => setImmediate(r)); // the first statement is in flight
    const later = ['y', 'z', 'w'].map((k) => groups.get(k));
    release();
    await assert.rejects(first, /database away/);
    assert.deepEqual(await Promise.all(later), ['y', 'z', 'w']);
    assert.deepEqual(reads, [['x'], ['y', 'z', 'w']]);
  });

  it('while reads keep coming, a group waits for more; a read after a quiet spell goes at once', async () => {
    const reads: string[][] = [];
    const groups = new ReadGroups<string>(
      async (keys) => {
        reads.push(keys);
        return new Map(keys.map((k) => [k, k]));
      },
      { lingerMs: 200 },
    );
    const turn = () => new Promise((r) => setImmediate(r));
    const a = groups.get('a');
    await turn();
    assert.deepEqual(reads, [['a']], 'the first read in a while goes at once');
    await a;
    const b = groups.get('b'); // right after a: reads keep coming
    await turn();
    assert.deepEqual(reads, [['a']], 'b waits for more');
    await new Promise((r) => setTimeout(r, 20));
    const c = groups.get('c');
    assert.deepEqual(await Promise.all([b, c]), ['b', 'c']);
    assert.deepEqual(reads, [['a'], ['b', 'c']], 'c joined b in one statement');
    await new Promise((r) => setTimeout(r, 300));
    const d = groups.get('d');
    await turn();
    assert.deepEqual(reads.at(-1), ['d'], 'after a quiet spell: at once');
    await d;
  });

  it('gives each of many async runs starting together its own entry and record', async () => {
    const runs = Array.from({ length: 30 }, (_, i) =>
      activation({ trigger: 'async', status: 'queued', logs: `run ${i}` }),
    );
    const entries = runs.map((r, i) => entry(r, { attempts: i % 3 }));
    for (const [i, r] of runs.entries()) await store.enqueue(r, entries[i]!);
    const read = await Promise.all([...runs.map((r) => store.getQueuedRun(r.id)), store.getQueuedRun('missing')]);
    runs.forEach((r, i) => {
      assert.deepEqual(read[i]?.entry, entries[i]);
      assert.equal(read[i]?.record?.logs, `run ${i}`);
    });
    assert.equal(read[30], undefined);
  });
});
