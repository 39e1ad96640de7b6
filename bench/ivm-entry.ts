// What one entry into an isolate costs the pool process, by the ways
// isolated-vm offers to call in and get an async handler's answer back (the
// hello handler, its call as JSON in and out, as the isolate runtime does):
// an async apply whose result is the handler's promise (nimbus's warm path),
// an async apply that returns at once with the answer coming back through an
// async Callback (tried: one more thread hop, more CPU), and applySync (least
// CPU, but it runs the call's synchronous part on the pool's event loop: the
// pool's other isolates and its answers to the host's pings wait behind it).
// Run: scripts/node --import tsx bench/ivm-entry.ts
import { createRequire } from 'node:module';
import type IVM from 'isolated-vm';

const ivm = createRequire(import.meta.url)('isolated-vm') as typeof IVM;
const N = Number(process.env.BENCH_CALLS ?? 10_000);

const isolate = new ivm.Isolate({ memoryLimit: 128 });
const context = isolate.createContextSync();
const waiting = new Map<number, () => void>();
context.global.setSync('done', new ivm.Callback((id: number) => waiting.get(id)?.(), { ignored: true }));
context.evalSync(`
const handler = async (e) => ({ message: 'Hello, ' + (e.name ?? 'world') + '!' });
const run = async (json) => {
  const c = JSON.parse(json);
  return JSON.stringify({ ok: true, output: { kind: 'value', value: await handler(c.input.event) }, logs: '' });
};
globalThis.viaPromise = run;
globalThis.viaCallback = (json, id) => void run(json).then(() => done(id));`);
const viaPromise = context.global.getSync('viaPromise', { reference: true });
const viaCallback = context.global.getSync('viaCallback', { reference: true });
const call = JSON.stringify({ id: 'x', input: { kind: 'event', event: { name: 'bench' } }, deadline: 0 });

async function time(label: string, one: (i: number) => Promise<unknown>): Promise<string[]> {
  for (let i = 0; i < 1000; i++) await one(i);
  const cpu = process.cpuUsage();
  const t = performance.now();
  for (let i = 0; i < N; i++) await one(i);
  const wallUs = ((performance.now() - t) * 1000) / N;
  const used = process.cpuUsage(cpu);
  return [label, wallUs.toFixed(1), ((used.user + used.system) / N).toFixed(1)];
}

const rows = [
  await time('apply, promise result', () => viaPromise.apply(undefined, [call], { result: { promise: true } })),
  await time('apply + async Callback', (i) => {
    const answered = new Promise<void>((resolve) => waiting.set(i, resolve));
    return Promise.all([viaCallback.apply(undefined, [call, i]), answered]);
  }),
  await time('applySync + async Callback', (i) => {
    const answered = new Promise<void>((resolve) => waiting.set(i, resolve));
    viaCallback.applySync(undefined, [call, i]);
    return answered;
  }),
];
console.log(`One call at a time, ${N} calls each (pool process CPU: both threads)\n`);
for (const r of [['entry', 'wall us/call', 'cpu us/call'], ...rows]) console.log(r.map((c) => c.padEnd(28)).join(''));
isolate.dispose();
