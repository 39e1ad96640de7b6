// The worker thread behind ActivationWriter: its own connection to the SQLite
// file, one transaction per batch of activation rows, an answer per batch.
// Commits (and the WAL checkpoints they trigger, with their fsync) happen here,
// off the thread that serves requests.
import { parentPort, workerData } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import type { WriterReply, WriterRequest } from './activation-writer.ts';
import { ACTIVATION_UPSERT } from './activation-rows.ts';
import { openConnection } from './connection.ts';

const port = parentPort;
if (!port) throw new Error('activation-writer.worker.ts runs as a worker thread');

const db = openConnection((workerData as { file: string }).file);
let statement: Database.Statement | undefined;

const commit = db.transaction((rows: WriterRequest['rows']) => {
  statement ??= db.prepare(ACTIVATION_UPSERT);
  for (const row of rows) statement.run(...row);
});

port.on('message', (request: WriterRequest) => {
  let reply: WriterReply;
  try {
    commit(request.rows);
    reply = { seq: request.seq };
  } catch (e) {
    statement = undefined; // a schema change invalidates it; prepare again next time
    reply = { seq: request.seq, error: (e as Error).message };
  }
  port.postMessage(reply);
});
