// The cost report's reading of records (src/reports/calls.ts) on both stores:
// pages of 1,000 by creation time lose no record that shares its time with a
// page edge (ActivationQuery.beforeId), count nothing outside [from, to) or of
// another namespace, and skip records that ran no code or have not ended.
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { readCalls } from '../../src/reports/calls.ts';
import type { Store } from '../../src/storage/store.ts';
import { eachStore } from '../helpers/stores.ts';
import { activation } from '../storage/records.ts';

const FROM = Date.parse('2026-12-01T12:00:00Z');
const TO = FROM + 600_000;
const iso = (ms: number) => new Date(ms).toISOString();

/** 1,500 calls created at one instant (a page edge falls among them), 700 spread, and records that must not count. */
async function fill(store: Store): Promise<number> {
  const ran = (createdMs: number, functionName = 'f') =>
    activation({
      functionName,
      createdAt: iso(createdMs),
      startedAt: iso(createdMs + 5),
      endedAt: iso(createdMs + 105),
      runMs: 100,
      initMs: 0,
      gbSeconds: 0.025, // 256 MB for 0.1 s
    });
  const records = [
    ...Array.from({ length: 1500 }, () => ran(FROM + 60_000)),
    ...Array.from({ length: 700 }, (_, i) => ran(FROM + i * 500)),
    ran(FROM - 1),
    ran(TO),
    ran(FROM + 1000, 'other/f'),
    activation({ createdAt: iso(FROM + 2000), status: 'queued' }),
    activation({ ...ran(FROM + 3000), engine: 'sequence', trigger: 'sync' }),
  ];
  for (const r of records) await store.putActivation(r);
  return 2200;
}

async function check(store: Store): Promise<void> {
  const expected = await fill(store);
  const calls = await readCalls(store, { namespace: 'default', fromMs: FROM, toMs: TO });
  assert.equal(calls.length, expected);
  assert.ok(calls.every((c) => c.memoryMb === 256 && c.endMs - c.startMs === 100));
  const other = await readCalls(store, { namespace: 'other', fromMs: FROM, toMs: TO });
  assert.equal(other.length, 1);
  const named = await readCalls(store, { namespace: 'other', functionName: 'other/g', fromMs: FROM, toMs: TO });
  assert.equal(named.length, 0);
}

describe('cost report records', () => {
  eachStore('every call of the window once, across page edges with ties', check);
});
