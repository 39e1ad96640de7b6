// The SQLite store writes activation records behind: these cases check, with a
// second connection to the same file, when queued records reach the file
// (on their own within the delay, before any other write, on close) and that a
// failed commit is reported rather than lost silently.
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { SqliteStore } from '../../src/storage/sqlite/store.ts';
import { createTempDir } from '../helpers/temp.ts';
import { activation, config, entry, artifact } from './records.ts';

const dir = await createTempDir('nimbus-write-behind');
let n = 0;

async function open(options: ConstructorParameters<typeof SqliteStore>[1] = {}) {
  const file = path.join(dir, `wb-${n++}.db`);
  const store = new SqliteStore(file, options);
  await store.migrate();
  const reader = new Database(file, { readonly: true });
  const onDisk = (id: string) =>
    reader.prepare('SELECT status FROM activations WHERE id = ?').get(id) as { status: string } | undefined;
  return { file, store, reader, onDisk };
}

describe('sqlite activation write-behind', () => {
  it('commits a record on its own within the delay', async () => {
    const { store, reader, onDisk } = await open({ delayMs: 20 });
    const r = activation();
    await store.putActivation(r);
    const until = Date.now() + 2000;
    while (!onDisk(r.id) && Date.now() < until) await new Promise((res) => setTimeout(res, 10));
    assert.equal(onDisk(r.id)?.status, 'success');
    reader.close();
    await store.close();
  });

  it('commits queued records before any later write, so the file never holds a later write without an earlier one', async () => {
    const { store, reader, onDisk } = await open({ delayMs: 60_000 });
    const queued = activation({ status: 'queued' });
    await store.enqueue(queued, entry(queued));
    const finished = { ...queued, status: 'success' as const };
    await store.putActivation(finished);
    assert.equal(onDisk(queued.id)?.status, 'queued', 'not committed yet: the delay is a minute');
    await store.updateQueueEntry(queued.id, { state: 'done' });
    assert.equal(onDisk(queued.id)?.status, 'success', 'the record came before the queue update');
    const other = activation();
    await store.putActivation(other);
    const { sha, bytes } = artifact('exports.handler = () => 1');
    await store.deployVersion('f', config(), sha, bytes);
    assert.equal(onDisk(other.id)?.status, 'success');
    reader.close();
    await store.close();
  });

  it('reads see queued records, and the last write of a record wins', async () => {
    const { store, reader } = await open({ delayMs: 60_000 });
    const r = activation({ status: 'queued' });
    await store.putActivation(r);
    await store.putActivation({ ...r, status: 'timeout' });
    assert.equal((await store.getActivation(r.id))?.status, 'timeout');
    assert.deepEqual(
      (await store.listActivations({ limit: 10 })).map((a) => a.status),
      ['timeout'],
    );
    reader.close();
    await store.close();
  });

  it('commits what is queued on close', async () => {
    const { file, store, reader } = await open({ delayMs: 60_000 });
    const r = activation();
    await store.putActivation(r);
    await store.close();
    reader.close();
    const again = new SqliteStore(file);
    assert.equal((await again.getActivation(r.id))?.id, r.id);
    await again.close();
  });

  it('after a failed batch, later reads and writes work (the failure is reported once, not kept)', async () => {
    const failures: number[] = [];
    const { store, reader, onDisk } = await open({ delayMs: 20, onError: (_e, lost) => failures.push(lost) });
    const broken = { ...activation(), functionName: null as unknown as string }; // violates NOT NULL: its batch fails
    await store.putActivation(broken);
    const until = Date.now() + 2000;
    while (failures.length === 0 && Date.now() < until) await new Promise((res) => setTimeout(res, 10));
    assert.deepEqual(failures, [1]);
    assert.equal(await store.getActivation(broken.id), undefined);
    const good = activation();
    await store.putActivation(good);
    assert.equal((await store.getActivation(good.id))?.id, good.id);
    assert.equal(onDisk(good.id)?.status, 'success');
    reader.close();
    await store.close();
  });

  it('reports a failed commit with the number of records lost', async () => {
    const failures: { message: string; lost: number }[] = [];
    const { file, store, reader } = await open({
      delayMs: 20,
      onError: (e, lost) => failures.push({ message: (e as Error).message, lost }),
    });
    const writer = new Database(file);
    writer.exec('DROP TABLE activations');
    writer.close();
    await store.putActivation(activation());
    await store.putActivation(activation());
    const until = Date.now() + 2000;
    while (failures.length === 0 && Date.now() < until) await new Promise((res) => setTimeout(res, 10));
    assert.equal(failures.length, 1);
    assert.equal(failures[0]?.lost, 2);
    assert.match(failures[0]?.message ?? '', /activations/);
    reader.close();
    await store.close().catch(() => undefined);
  });
});
