// Retention on a running embedded platform: the background sweep deletes a
// function's activation records beyond the newest N while calls go on, and the
// SQLite file (with its WAL) stays bounded under repeated calls that each log
// close to 1 MB, because freed pages go back to the file system.
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.ts';

const MB = 1024 * 1024;
const KEEP = 5;

/** The store's bytes on disk: the database file and its write-ahead log. */
function storeBytes(dataDir: string): number {
  const file = path.join(dataDir, 'nimbus.db');
  let n = 0;
  for (const f of [file, `${file}-wal`]) {
    try {
      n += statSync(f).size;
    } catch {
      // no WAL yet
    }
  }
  return n;
}

describe('activation retention on a running platform (sqlite)', () => {
  let t: TestPlatform;
  before(async () => {
    t = await startTestPlatform({ activationSweepIntervalMs: 200, activationRetentionPerFunction: KEEP });
  });
  after(() => t.close());

  it('sweeps in the background, and the store stays bounded under repeated 1 MB-log calls', async (ctx) => {
    const d = await t.deploy(
      'chatty',
      `exports.handler = async (e) => { console.log('x'.repeat(${0.9 * MB})); return { n: e.n }; };`,
    );
    assert.equal(d.status, 201, d.text);
    const sizes: number[] = [];
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 15; i++) {
        const r = await t.invoke('chatty', { n: i });
        assert.equal(r.status, 200, r.text);
      }
      // The sweep runs by itself (every 200 ms here); wait, bounded, until it has trimmed this round's calls.
      const until = Date.now() + 20_000;
      let kept = Infinity;
      while (Date.now() < until) {
        kept = (await t.platform.store.listActivations({ functionName: 'chatty', limit: 100 })).length;
        if (kept <= KEEP) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(kept, KEEP, `round ${round}: the background sweep kept ${kept} records, not the newest ${KEEP}`);
      await new Promise((r) => setTimeout(r, 500)); // the sweep's page give-back runs after its deletes
      sizes.push(storeBytes(t.dataDir));
    }
    ctx.diagnostic(`store after each round of 15 calls: ${sizes.map((s) => (s / MB).toFixed(1)).join(', ')} MB`);
    // 45 calls wrote ~41 MB of logs; 5 kept are ~5 MB, plus a WAL of up to ~10 MB between checkpoints (seen: 11-16 MB in all).
    assert.ok(Math.max(...sizes) < 30 * MB, `store grew to ${sizes.map((s) => (s / MB).toFixed(1)).join(', ')} MB`);
    assert.ok(
      sizes[2]! <= sizes[0]! + 10 * MB,
      `store kept growing: ${sizes.map((s) => (s / MB).toFixed(1)).join(', ')} MB`,
    );
    const db = new Database(path.join(t.dataDir, 'nimbus.db'), { readonly: true });
    try {
      assert.equal(
        db.pragma('auto_vacuum', { simple: true }),
        2,
        'a new store gives freed pages back (auto_vacuum = INCREMENTAL)',
      );
    } finally {
      db.close();
    }
  });
});
