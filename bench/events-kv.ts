// The KV part of `npm run bench:events`: what a function's KV get and put cost
// from inside a warm sandbox (the round trip over its control channel to the
// host and the store), per engine, against the same operation called directly
// on the store in this process (KvStore over store.sql, SQLite), in one run.
// A function runs N operations one after another and times them itself, so the
// HTTP call around it is not counted.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startPlatform } from '../src/platform.ts';
import { KvStore } from '../src/state/kv-store.ts';
import { table } from './lib.ts';

const OPS = Number(process.env.BENCH_KV_OPS ?? 2000);
const ENGINES = (process.env.BENCH_KV_ENGINES ?? 'isolate,process').split(',');

const CODE = `export const handler = async (e, context) => {
  const kv = context.kv;
  await kv.put('k', 'a value of some forty bytes, like a token');
  const time = async (op) => { const t = performance.now(); for (let i = 0; i < e.ops; i++) await op(i); return ((performance.now() - t) * 1000) / e.ops; };
  return { getUs: await time(() => kv.get('k')), putUs: await time((i) => kv.put('p' + (i % 100), i)) };
};`;

export interface KvBenchRow {
  engine: string;
  getUs: number;
  putUs: number;
}

async function direct(kv: KvStore, fn: string): Promise<KvBenchRow> {
  await kv.put(fn, 'k', JSON.stringify('a value of some forty bytes, like a token'));
  const time = async (op: (i: number) => Promise<unknown>) => {
    const t = performance.now();
    for (let i = 0; i < OPS * 5; i++) await op(i);
    return ((performance.now() - t) * 1000) / (OPS * 5);
  };
  return {
    engine: 'direct (KvStore on store.sql, same process)',
    getUs: await time(() => kv.get(fn, 'k')),
    putUs: await time((i) => kv.put(fn, `p${i % 100}`, String(i))),
  };
}

/** The floor of any answer from another process: a Node IPC message to a child and back, one at a time. */
async function ipcFloor(): Promise<number> {
  const child = spawn(process.execPath, ['-e', "process.on('message', (m) => process.send(m))"], {
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const echo = (i: number) =>
    new Promise<void>((resolve) => {
      child.once('message', () => resolve());
      child.send(i);
    });
  try {
    for (let i = 0; i < 100; i++) await echo(i);
    const t = performance.now();
    for (let i = 0; i < OPS; i++) await echo(i);
    return ((performance.now() - t) * 1000) / OPS;
  } finally {
    child.kill();
  }
}

export async function kvBench(): Promise<{ rows: KvBenchRow[]; text: string }> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'nimbus-bench-kv-'));
  const platform = await startPlatform({ dataDir, port: 0, logLevel: 'warn' });
  const rows: KvBenchRow[] = [];
  try {
    const api = async (method: string, p: string, body: unknown) => {
      const r = await fetch(`${platform.url}${p}`, {
        method,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      const json = (await r.json()) as Record<string, unknown>;
      if (r.status >= 300) throw new Error(`${method} ${p}: ${r.status} ${JSON.stringify(json)}`);
      return json;
    };
    const kv = new KvStore(platform.store.sql);
    rows.push(await direct(kv, 'bench-direct'));
    for (const engine of ENGINES) {
      const name = `kv-${engine}`;
      await api('PUT', `/v1/functions/${name}`, { runtime: 'nodejs', code: CODE, engine, timeoutMs: 300_000 });
      await api('POST', `/v1/functions/${name}/invoke`, { ops: 50 }); // warm: sandbox, code paths, statements
      rows.push({
        engine,
        ...((await api('POST', `/v1/functions/${name}/invoke`, { ops: OPS })) as Omit<KvBenchRow, 'engine'>),
      });
    }
  } finally {
    await platform.close();
    await rm(dataDir, { recursive: true, force: true });
  }
  const floor = await ipcFloor();
  const base = rows[0]!;
  const text = table([
    ['from', 'get µs', 'get × direct', 'put µs', 'put × direct'],
    ...rows.map((r) => [
      r.engine,
      r.getUs.toFixed(1),
      (r.getUs / base.getUs).toFixed(1),
      r.putUs.toFixed(1),
      (r.putUs / base.putUs).toFixed(1),
    ]),
    ['floor: Node IPC round trip to a child process', floor.toFixed(1), (floor / base.getUs).toFixed(1), '', ''],
  ]);
  return { rows, text };
}
