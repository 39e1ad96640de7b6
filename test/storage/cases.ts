// The storage conformance cases, declared once and run against every Store
// driver (conformance.test.ts): functions and versions, artifacts, activation
// records with filters and paging, the async queue with idempotency keys,
// retention (age and per-function count cut-offs, in bounded batches).
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { DEFAULT_SWEEP, type RetentionPolicy } from '../../src/storage/retention.ts';
import type { ActivationRecord, Store } from '../../src/storage/store.ts';
import { activation, artifact, config, entry, newId } from './records.ts';

export type OpenStore = () => Promise<Store>;

const DAY = 86_400_000;
const policy = (over: Partial<RetentionPolicy> = {}): RetentionPolicy => ({
  maxAgeMs: 7 * DAY,
  keepPerFunction: 0,
  ...DEFAULT_SWEEP,
  pauseMs: 0,
  ...over,
});
const ago = (ms: number) => new Date(Date.now() - ms).toISOString();

export function storeCases(label: string, open: OpenStore): void {
  describe(`store conformance: ${label}`, () => {
    let s: Store;
    beforeEach(async () => {
      s = await open();
    });

    it('migrates idempotently', async () => {
      await s.migrate();
      await s.migrate();
      await s.ping();
    });

    it('deploys versions with monotonic numbers, keeps old versions, never reuses a number after delete', async () => {
      const a = artifact('exports.handler = () => 1');
      const b = artifact('exports.handler = () => 2');
      const v1 = await s.deployVersion('fn', config(), a.sha, a.bytes);
      const v2 = await s.deployVersion('fn', config({ memoryMb: 512 }), b.sha, b.bytes);
      assert.deepEqual([v1.version, v2.version], [1, 2]);
      assert.equal(v2.artifactBytes, b.bytes.length);
      const current = await s.getFunction('fn');
      assert.equal(current?.version, 2);
      assert.equal(current?.config.memoryMb, 512);
      assert.equal(current?.firstDeployedAt, v1.createdAt);
      assert.equal((await s.getVersion('fn', 1))?.artifactSha256, a.sha);
      assert.equal(await s.getVersion('fn', 3), undefined);
      assert.equal(await s.deleteFunction('fn'), true);
      assert.equal(await s.deleteFunction('fn'), false);
      assert.equal(await s.getFunction('fn'), undefined);
      assert.equal(await s.getVersion('fn', 2), undefined);
      const v3 = await s.deployVersion('fn', config(), a.sha, a.bytes);
      assert.equal(v3.version, 3);
    });

    it('gives concurrent deploys distinct consecutive versions, and readers never see a half-made one', async () => {
      const deploys = Array.from({ length: 12 }, (_, i) => artifact(`v${i}`)).map((x) =>
        s.deployVersion('busy', config(), x.sha, x.bytes),
      );
      const reads = Array.from({ length: 12 }, () => s.getFunction('busy'));
      const versions = (await Promise.all(deploys)).map((v) => v.version).sort((x, y) => x - y);
      assert.deepEqual(
        versions,
        Array.from({ length: 12 }, (_, i) => i + 1),
      );
      for (const r of await Promise.all(reads))
        if (r) assert.equal((await s.getVersion('busy', r.version))?.artifactSha256, r.artifactSha256);
      assert.equal((await s.getFunction('busy'))?.version, 12);
    });

    it('hands out function records that no caller can change for the next one', async () => {
      const x = artifact('x');
      await s.deployVersion('shared', config({ env: { A: '1' } }), x.sha, x.bytes);
      const first = await s.getFunction('shared');
      assert.ok(first);
      const tamper = () => {
        first.config.memoryMb = 1;
        first.config.env.A = 'changed';
      };
      try {
        tamper(); // a store may hand out copies (mutable) or one frozen record (throws)
      } catch (e) {
        assert.ok(e instanceof TypeError, String(e));
      }
      const again = await s.getFunction('shared');
      assert.notEqual(again?.config.memoryMb, 1);
      assert.equal(again?.config.env.A, '1');
    });

    it('hands out function and version records frozen, whichever way they are read (the Store contract: frozen records)', async () => {
      const x = artifact('frozen');
      const own = config({ env: { A: '1' } });
      const deployed = await s.deployVersion('frozen', own, x.sha, x.bytes);
      own.env.A = 'mine'; // the caller's config stays the caller's: the record holds a copy
      const reads = {
        deployed,
        function: await s.getFunction('frozen'),
        listed: (await s.listFunctions())[0],
        version: await s.getVersion('frozen', 1),
      };
      for (const [how, record] of Object.entries(reads)) {
        assert.ok(
          record && Object.isFrozen(record) && Object.isFrozen(record.config) && Object.isFrozen(record.config.env),
          `${how} is frozen`,
        );
        assert.equal(record.config.env.A, '1', how);
      }
    });

    it('lists functions by name with their latest version', async () => {
      const x = artifact('x');
      for (const name of ['beta', 'alpha', 'gamma']) await s.deployVersion(name, config(), x.sha, x.bytes);
      await s.deployVersion('beta', config(), x.sha, x.bytes);
      const list = await s.listFunctions();
      assert.deepEqual(
        list.map((f) => [f.name, f.version]),
        [
          ['alpha', 1],
          ['beta', 2],
          ['gamma', 1],
        ],
      );
    });

    it('stores artifacts byte for byte, once per sha256', async () => {
      const bytes = Buffer.concat([Buffer.from([0, 1, 2, 255, 0]), Buffer.alloc(1024 * 1024, 7)]);
      const sha = artifact(bytes.toString('latin1')).sha;
      await s.deployVersion('big', config(), sha, bytes);
      await s.deployVersion('big2', config(), sha, bytes);
      assert.ok((await s.getArtifact(sha))?.equals(bytes));
      assert.equal(await s.getArtifact('0'.repeat(64)), undefined);
    });

    it('puts, updates and gets activation records whole', async () => {
      const r = activation({
        logs: 'line one\nünïcödé \u0000 nul\n',
        result: { nested: [1, 'two', null] },
        error: null,
      });
      await s.putActivation(r);
      assert.deepEqual(await s.getActivation(r.id), r);
      const updated = {
        ...r,
        status: 'error' as const,
        error: { code: 'function_error', message: 'boom', stack: 'at x' },
      };
      await s.putActivation(updated);
      assert.deepEqual(await s.getActivation(r.id), updated);
      assert.equal(await s.getActivation('missing'), undefined);
    });

    it('lists activations newest first, filtered by function and status, paged with before', async () => {
      const base = Date.parse('2030-01-01T00:00:00.000Z');
      const at = (i: number) => new Date(base + i * 1000).toISOString();
      for (let i = 0; i < 10; i++) {
        await s.putActivation(
          activation({
            functionName: i % 2 ? 'odd' : 'even',
            status: i % 3 === 0 ? 'error' : 'success',
            createdAt: at(i),
          }),
        );
      }
      const all = await s.listActivations({ limit: 100 });
      assert.deepEqual(
        all.map((r) => r.createdAt),
        Array.from({ length: 10 }, (_, i) => at(9 - i)),
      );
      assert.deepEqual(
        (await s.listActivations({ functionName: 'odd', limit: 100 })).map((r) => r.createdAt),
        [9, 7, 5, 3, 1].map(at),
      );
      assert.deepEqual(
        (await s.listActivations({ status: 'error', limit: 100 })).map((r) => r.createdAt),
        [9, 6, 3, 0].map(at),
      );
      assert.deepEqual(
        (await s.listActivations({ functionName: 'even', status: 'error', limit: 100 })).map((r) => r.createdAt),
        [6, 0].map(at),
      );
      const page1 = await s.listActivations({ limit: 4 });
      const page2 = await s.listActivations({ limit: 4, before: page1.at(-1)?.createdAt });
      const page3 = await s.listActivations({ limit: 4, before: page2.at(-1)?.createdAt });
      assert.deepEqual(
        [...page1, ...page2, ...page3].map((r) => r.createdAt),
        all.map((r) => r.createdAt),
      );
      assert.equal(page3.length, 2);
    });

    it('enqueues a record with its queue entry; a repeated idempotency key stores nothing and returns the earlier id', async () => {
      const first = activation({ status: 'queued', trigger: 'async' });
      assert.deepEqual(await s.enqueue(first, entry(first, { idempotencyKey: 'k1' })), {
        activationId: first.id,
        duplicate: false,
      });
      const again = activation({ status: 'queued', trigger: 'async' });
      assert.deepEqual(await s.enqueue(again, entry(again, { idempotencyKey: 'k1' })), {
        activationId: first.id,
        duplicate: true,
      });
      assert.equal(await s.getActivation(again.id), undefined);
      assert.equal(await s.getQueueEntry(again.id), undefined);
      const other = activation({ functionName: 'g', status: 'queued' });
      assert.equal(
        (await s.enqueue(other, entry(other, { idempotencyKey: 'k1' }))).duplicate,
        false,
        'keys are per function',
      );
      const n1 = activation({ status: 'queued' });
      const n2 = activation({ status: 'queued' });
      assert.equal((await s.enqueue(n1, entry(n1))).duplicate, false);
      assert.equal((await s.enqueue(n2, entry(n2))).duplicate, false, 'no key, no dedupe');
      assert.deepEqual(await s.getActivation(first.id), first);
      assert.deepEqual((await s.getQueueEntry(first.id))?.input, { kind: 'event', event: { n: 1 } });
    });

    it('lets exactly one of many concurrent enqueues with one key win', async () => {
      const key = newId();
      const attempts = Array.from({ length: 8 }, () => activation({ status: 'queued' }));
      const results = await Promise.all(attempts.map((r) => s.enqueue(r, entry(r, { idempotencyKey: key }))));
      const winners = results.filter((r) => !r.duplicate);
      assert.equal(winners.length, 1);
      assert.ok(results.every((r) => r.activationId === winners[0]?.activationId));
    });

    it('lists the pending queue by run time and applies partial updates', async () => {
      const now = Date.now();
      const rs = [activation(), activation(), activation()];
      await s.enqueue(rs[0]!, entry(rs[0]!, { runAt: now + 3000 }));
      await s.enqueue(rs[1]!, entry(rs[1]!, { runAt: now + 1000 }));
      await s.enqueue(rs[2]!, entry(rs[2]!, { runAt: now + 2000 }));
      assert.deepEqual(
        (await s.pendingQueue()).map((e) => e.activationId),
        [rs[1]!.id, rs[2]!.id, rs[0]!.id],
      );
      await s.updateQueueEntry(rs[2]!.id, { state: 'done' });
      await s.updateQueueEntry(rs[0]!.id, { attempts: 2, runAt: now });
      const pending = await s.pendingQueue();
      assert.deepEqual(
        pending.map((e) => e.activationId),
        [rs[0]!.id, rs[1]!.id],
      );
      assert.deepEqual(await s.getQueueEntry(rs[0]!.id), { ...entry(rs[0]!, { runAt: now, attempts: 2 }) });
      assert.equal((await s.getQueueEntry(rs[2]!.id))?.state, 'done');
      await s.updateQueueEntry('missing', { state: 'done' });
      assert.equal(await s.getQueueEntry('missing'), undefined);
    });

    it('reads a queued run: its entry with its record, the record as last written', async () => {
      const r = activation({ trigger: 'async', status: 'queued' });
      const queued = entry(r);
      await s.enqueue(r, queued);
      const retried = { ...r, attempts: 1, status: 'queued' as const, logs: 'attempt 1 failed' };
      await s.putActivation(retried);
      await s.updateQueueEntry(r.id, { attempts: 1 });
      assert.deepEqual(await s.getQueuedRun(r.id), {
        entry: { ...queued, attempts: 1 },
        record: await s.getActivation(r.id),
      });
      assert.equal((await s.getQueuedRun(r.id))?.record?.logs, 'attempt 1 failed');
      assert.equal(await s.getQueuedRun('missing'), undefined);
    });

    it('retention: deletes records older than the age limit with their finished queue entries; never queued, running or pending ones', async () => {
      const old = (over: Partial<ActivationRecord>) =>
        activation({ createdAt: ago(8 * DAY), logs: 'x'.repeat(10_000), ...over });
      const gone = [
        old({}),
        old({ functionName: 'g', status: 'error' }),
        old({ status: 'dead_letter', trigger: 'async' }),
      ];
      const asyncDone = old({ trigger: 'async', status: 'success' });
      const kept = [activation({ createdAt: ago(6 * DAY) }), old({ status: 'running' })];
      const queued = old({ status: 'queued', trigger: 'async' });
      const retrying = old({ status: 'error', trigger: 'async' }); // its queue entry is pending: a retry is due
      for (const r of [...gone, ...kept]) await s.putActivation(r);
      await s.enqueue(asyncDone, entry(asyncDone, { idempotencyKey: 'old-key', state: 'done' }));
      await s.enqueue(queued, entry(queued));
      await s.enqueue(retrying, entry(retrying));
      await s.putActivation(retrying);
      const report = await s.sweepActivations(policy());
      assert.deepEqual(report, { deleted: 4, more: false });
      for (const r of [...gone, asyncDone])
        assert.equal(await s.getActivation(r.id), undefined, `${r.status} ${r.createdAt} deleted`);
      assert.equal(await s.getQueueEntry(asyncDone.id), undefined, 'its finished queue entry goes with it');
      for (const r of [...kept, queued, retrying])
        assert.equal((await s.getActivation(r.id))?.id, r.id, `${r.status} ${r.createdAt} kept`);
      assert.equal((await s.getQueueEntry(retrying.id))?.state, 'pending');
      assert.deepEqual(await s.sweepActivations(policy()), { deleted: 0, more: false });
      assert.equal((await s.sweepActivations(policy({ maxAgeMs: 0 }))).deleted, 0, '0 keeps records regardless of age');
    });

    it('retention: keeps the newest N finished records of each function, however old the rest is', async () => {
      const base = Date.now() - 3600_000;
      const at = (i: number) => new Date(base + i * 1000).toISOString();
      const busy = Array.from({ length: 12 }, (_, i) => activation({ functionName: 'busy', createdAt: at(i) }));
      const special = [
        activation({ functionName: 'busy', createdAt: at(-5), status: 'running' }),
        activation({ functionName: 'busy', createdAt: at(-4), status: 'dead_letter' }),
      ];
      const quiet = Array.from({ length: 3 }, (_, i) => activation({ functionName: 'quiet', createdAt: at(i) }));
      for (const r of [...busy, ...special, ...quiet]) await s.putActivation(r);
      const report = await s.sweepActivations(policy({ keepPerFunction: 5 }));
      assert.deepEqual(report, { deleted: 7, more: false });
      const left = await s.listActivations({ functionName: 'busy', limit: 100 });
      assert.deepEqual(
        left.map((r) => r.createdAt),
        [11, 10, 9, 8, 7, -4, -5].map(at),
        'the newest 5, the running one and the dead letter (age only)',
      );
      assert.equal((await s.listActivations({ functionName: 'quiet', limit: 100 })).length, 3);
      assert.equal((await s.sweepActivations(policy({ keepPerFunction: 5 }))).deleted, 0);
    });

    it('retention: deletes in bounded batches and carries on at the next sweep', async () => {
      for (let i = 0; i < 10; i++) await s.putActivation(activation({ createdAt: ago(30 * DAY - i * 1000) }));
      const step = policy({ batchSize: 3, maxBatches: 1 });
      assert.deepEqual(await s.sweepActivations(step), { deleted: 3, more: true });
      assert.equal((await s.listActivations({ limit: 100 })).length, 7);
      assert.deepEqual(await s.sweepActivations({ ...step, maxBatches: 2 }), { deleted: 6, more: true });
      assert.deepEqual(await s.sweepActivations(step), { deleted: 1, more: false });
      assert.equal((await s.listActivations({ limit: 100 })).length, 0);
    });
    it('sql: one batch is all or nothing; a check that throws rolls every statement back; RETURNING rows come back', async () => {
      const table = `sql_case_${newId()
        .replace(/[^a-z0-9]/gi, '')
        .slice(0, 12)
        .toLowerCase()}`;
      await s.sql.run(`CREATE TABLE ${table} (k TEXT PRIMARY KEY, n INTEGER NOT NULL)`);
      try {
        const up = (k: string) => ({
          sql: `INSERT INTO ${table} (k, n) VALUES (?, 1) ON CONFLICT (k) DO UPDATE SET n = ${table}.n + 1 RETURNING n`,
          args: [k],
        });
        const [first, second] = await s.sql.batch([up('a'), up('a')]);
        assert.equal(Number(first?.rows[0]?.n), 1);
        assert.equal(Number(second?.rows[0]?.n), 2);
        await assert.rejects(
          s.sql.batch([up('a'), up('b')], (_r, i) => {
            if (i === 1) throw new Error('refused');
          }),
          /refused/,
        );
        const rows = await s.sql.all<{ k: string; n: number }>(`SELECT k, n FROM ${table} ORDER BY k`);
        assert.deepEqual(
          rows.map((r) => [r.k, Number(r.n)]),
          [['a', 2]],
        );
        assert.equal(await s.sql.run(`DELETE FROM ${table} WHERE k = ?`, ['a']), 1);
        assert.equal(await s.sql.get(`SELECT k FROM ${table} WHERE k = ?`, ['a']), undefined);
      } finally {
        await s.sql.run(`DROP TABLE ${table}`);
      }
    });
  });
}
