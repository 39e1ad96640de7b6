// SQLite's group commit (sqlite/group-commit.ts): writes that arrive together
// commit in one transaction, each resolves only after that commit, and a write
// that fails halfway rolls back alone (what it wrote before failing too) and
// rejects alone, while the others of its group commit.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { GroupCommit } from '../../src/storage/sqlite/group-commit.ts';

describe('sqlite group commit', () => {
  const db = new Database(':memory:');
  db.exec('CREATE TABLE t (k TEXT PRIMARY KEY)');
  const tx = db.transaction((fn: () => unknown) => fn());
  let transactions = 0;
  const groups = new GroupCommit(
    () => Promise.resolve(),
    (fn) => {
      if (!db.inTransaction) transactions++;
      return tx.immediate(fn) as never;
    },
  );
  const keys = () => (db.prepare('SELECT k FROM t ORDER BY k').all() as { k: string }[]).map((r) => r.k);
  const insert = (k: string) => db.prepare('INSERT INTO t (k) VALUES (?)').run(k);

  it('commits writes that arrive together in one transaction', async () => {
    const results = await Promise.all(['a', 'b', 'c'].map((k) => groups.write(() => (insert(k), k))));
    assert.deepEqual(results, ['a', 'b', 'c']);
    assert.deepEqual(keys(), ['a', 'b', 'c']);
    assert.equal(transactions, 1);
  });

  it('rolls back a write that fails halfway, alone; the rest of its group commits', async () => {
    const settled = await Promise.allSettled([
      groups.write(() => insert('d')),
      groups.write(() => {
        insert('e'); // written, then the write fails: 'e' must not stay
        insert('a'); // a duplicate key
      }),
      groups.write(() => insert('f')),
    ]);
    assert.deepEqual(
      settled.map((s) => s.status),
      ['fulfilled', 'rejected', 'fulfilled'],
    );
    assert.match(String((settled[1] as PromiseRejectedResult).reason), /UNIQUE constraint failed/);
    assert.deepEqual(keys(), ['a', 'b', 'c', 'd', 'f']);
    assert.equal(db.inTransaction, false);
  });
});
