// The worker thread behind ActivationWriter: its own connection to the SQLite
// file, one transaction per batch of activation rows, an answer per batch.
// Commits (and the WAL checkpoints they trigger, with their fsync) happen here,
// off the thread that serves requests. Rows go in CHUNK at a time, one
// statement each: a quarter less CPU a row than one statement a row.
import { parentPort, workerData } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import type { WriterReply, WriterRequest } from './activation-writer.ts';
import { ACTIVATION_UPSERT, activationUpsert } from './activation-rows.ts';
import { openConnection } from './connection.ts';

const port = parentPort;
if (!port) throw new Error('activation-writer.worker.ts runs as a worker thread');

const CHUNK = 16;
const db = openConnection((workerData as { file: string }).file);
let statements: { one: Database.Statement; chunk: Database.Statement } | undefined;

const commit = db.transaction((rows: WriterRequest['rows']) => {
  statements ??= { one: db.prepare(ACTIVATION_UPSERT), chunk: db.prepare(activationUpsert(CHUNK)) };
  let i = 0;
  for (; i + CHUNK <= rows.length; i += CHUNK) statements.chunk.run(rows.slice(i, i + CHUNK).flat());
  for (; i < rows.length; i++) statements.one.run(rows[i]);
});

port.on('message', (request: WriterRequest) => {
  let reply: WriterReply;
  try {
    commit(request.rows);
    reply = { seq: request.seq };
  } catch (e) {
    statements = undefined; // a schema change invalidates them; prepare again next time
    reply = { seq: request.seq, error: (e as Error).message };
  }
  port.postMessage(reply);
});
