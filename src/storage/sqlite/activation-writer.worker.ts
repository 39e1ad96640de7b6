// The worker thread behind ActivationWriter: its own connection to the SQLite
// file, one transaction per batch of activation rows, an answer per batch.
// Commits (and the WAL checkpoints they trigger, with their fsync) happen here,
// off the thread that serves requests. Rows go in CHUNK at a time, one
// statement each: a quarter less CPU a row than one statement a row.
// Retention steps (a read, a transaction of deletes, an incremental vacuum)
// come through the same queue, between batches.
import { parentPort, workerData } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import type { WriterReply, WriterRequest } from './activation-writer.ts';
import type { ActivationRow } from '../rows.ts';
import { ACTIVATION_UPSERT, activationUpsert } from '../statements.ts';
import { openConnection } from './connection.ts';

const port = parentPort;
if (!port) throw new Error('activation-writer.worker.ts runs as a worker thread');

const CHUNK = 16;
const db = openConnection((workerData as { file: string }).file);
let statements: { one: Database.Statement; chunk: Database.Statement } | undefined;

const commit = db.transaction((rows: ActivationRow[]) => {
  statements ??= { one: db.prepare(ACTIVATION_UPSERT), chunk: db.prepare(activationUpsert(CHUNK)) };
  let i = 0;
  for (; i + CHUNK <= rows.length; i += CHUNK) statements.chunk.run(rows.slice(i, i + CHUNK).flat());
  for (; i < rows.length; i++) statements.one.run(rows[i]);
});

const deleteAll = db.transaction((statements: { sql: string; args: unknown[] }[]) =>
  statements.map((s) => db.prepare(s.sql).run(...s.args).changes),
);

/** Runs one request; returns its answer's result (none for a batch of records). */
function run(request: WriterRequest): unknown {
  if ('rows' in request) return void commit(request.rows);
  if ('all' in request) return db.prepare(request.all.sql).all(...request.all.args);
  if ('write' in request) return deleteAll(request.write);
  db.pragma(`incremental_vacuum(${Math.max(0, Math.floor(request.vacuum))})`);
  return db.pragma('freelist_count', { simple: true });
}

port.on('message', (request: WriterRequest) => {
  let reply: WriterReply;
  try {
    reply = { seq: request.seq, result: run(request) };
  } catch (e) {
    statements = undefined; // a schema change invalidates them; prepare again next time
    reply = { seq: request.seq, error: (e as Error).message };
  }
  port.postMessage(reply);
});
