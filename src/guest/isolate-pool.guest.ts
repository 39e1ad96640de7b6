// The isolate pool: a Node process, itself confined by bubblewrap (no network,
// read-only filesystem), that hosts one V8 isolate per sandbox with
// isolated-vm. It compiles the runtime and each function with V8's code cache,
// runs calls with a wall-clock deadline, and reports isolates that die.
import fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import { openChannel } from './channel.guest.ts';
import { encodeFrame, FrameDecoder } from './protocol.ts';
import { PoolCommand, type PoolEvent } from './isolate-protocol.ts';

// isolated-vm is a native addon: loaded from the path the host gives, never bundled.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const ivm = require(process.env.NIMBUS_IVM_PATH ?? 'isolated-vm') as typeof import('isolated-vm');
type Isolate = import('isolated-vm').Isolate;
type Reference<T> = import('isolated-vm').Reference<T>;

const channel = openChannel(process.env.NIMBUS_AGENT_CHANNEL ?? 'fd:3');
const send = (e: PoolEvent): void => void channel.write(encodeFrame(e));
const runtimeCode = fs.readFileSync(process.env.NIMBUS_ISOLATE_RUNTIME ?? '', 'utf8');
const codeCache = new Map<string, import('isolated-vm').ExternalCopy<ArrayBuffer>>();

interface Box {
  isolate: Isolate;
  invoke: Reference<(json: string) => Promise<string>>;
  fire: Reference<(id: number) => void>;
  timers: Map<number, NodeJS.Timeout>;
  dead?: string;
}
const boxes = new Map<string, Box>();

function compile(isolate: Isolate, key: string, code: string, filename: string) {
  const cachedData = codeCache.get(key);
  const script = isolate.compileScriptSync(code, { filename, ...(cachedData ? { cachedData } : { produceCachedData: true }) });
  const produced = (script as typeof script & { cachedData?: import('isolated-vm').ExternalCopy<ArrayBuffer> }).cachedData;
  if (!cachedData && produced) codeCache.set(key, produced);
  return script;
}

/** Ends a sandbox's isolate and tells the host it is dead. */
function kill(sid: string, reason: string): void {
  const box = boxes.get(sid);
  if (!box) return;
  boxes.delete(sid);
  box.dead ??= reason;
  for (const t of box.timers.values()) clearTimeout(t);
  if (!box.isolate.isDisposed) box.isolate.dispose();
  send({ type: 'dead', sid, reason: box.dead });
}

async function create(c: Extract<PoolCommand, { type: 'create' }>): Promise<void> {
  const started = performance.now();
  const isolate = new ivm.Isolate({ memoryLimit: Math.max(8, c.memoryMb) });
  try {
    const context = isolate.createContextSync();
    const timers = new Map<number, NodeJS.Timeout>();
    let box: Box | undefined;
    const hostCall = (op: string, a: number, b: number): string | undefined => {
      if (op === 'random') return randomBytes(Math.min(65536, a)).toString('base64');
      if (op === 'clear') {
        clearTimeout(timers.get(a));
        timers.delete(a);
      } else if (op === 'timer') {
        const timer = setTimeout(() => {
          timers.delete(a);
          void box?.fire.apply(undefined, [a], { timeout: 10_000 }).catch(() => undefined);
        }, b);
        timers.set(a, timer);
      }
      return undefined;
    };
    context.global.setSync('$nimbusHost', new ivm.Reference(hostCall));
    compile(isolate, 'runtime', runtimeCode, 'nimbus-runtime.js').runSync(context);
    compile(isolate, c.codeKey, `__nimbus.register(function (exports, module, require) {${c.code}\n});`, 'function.js').runSync(context, { timeout: 10_000 });
    const { code: _code, ...initArgs } = c;
    const init = JSON.parse(context.evalClosureSync('return __nimbus.init($0)', [JSON.stringify(initArgs)], { timeout: 10_000 }) as string) as { ok: boolean; style?: string; error?: { code: string; message: string }; logs?: string };
    box = {
      isolate,
      timers,
      invoke: context.evalSync('(json) => __nimbus.invoke(json)', { reference: true }) as Reference<(json: string) => Promise<string>>,
      fire: context.evalSync('(id) => __nimbusFire(id)', { reference: true }) as Reference<(id: number) => void>,
    };
    if (!init.ok) throw Object.assign(new Error(init.error?.message ?? 'init failed'), { code: init.error?.code ?? 'function_error', logs: init.logs });
    boxes.set(c.sid, box);
    send({ type: 'created', sid: c.sid, style: init.style ?? 'lambda', initMs: performance.now() - started });
  } catch (e) {
    if (!isolate.isDisposed) isolate.dispose();
    const err = e as Error & { code?: string; logs?: string };
    const memory = /memory limit/i.test(err.message);
    send({ type: 'create_error', sid: c.sid, error: { code: memory ? 'memory_exhausted' : err.code && err.code !== 'ERR_SCRIPT' ? err.code : 'function_error', message: `function failed to load: ${err.message}` }, logs: err.logs });
  }
}

async function invoke(c: Extract<PoolCommand, { type: 'invoke' }>): Promise<void> {
  const box = boxes.get(c.sid);
  if (!box) return send({ type: 'result', sid: c.sid, id: c.id, ok: false, error: { code: 'function_crashed', message: 'the isolate is gone' }, logs: '', logsTruncated: false });
  const remaining = Math.max(1, c.deadline - Date.now());
  // Past the deadline the isolate is disposed, which stops whatever it runs; the call then fails below.
  const deadline = setTimeout(() => {
    box.dead = 'timeout';
    if (!box.isolate.isDisposed) box.isolate.dispose();
  }, remaining);
  try {
    const json = await box.invoke.apply(undefined, [JSON.stringify({ id: c.id, input: c.input, deadline: c.deadline })], { result: { promise: true }, timeout: remaining });
    send({ type: 'result', sid: c.sid, id: c.id, ...(JSON.parse(json as string) as { ok: boolean; logs: string; logsTruncated: boolean }) });
  } catch (e) {
    const message = (e as Error).message;
    const code = box.dead === 'timeout' || /timed out/i.test(message) ? 'timeout' : /memory limit/i.test(message) ? 'memory_exhausted' : box.isolate.isDisposed ? 'function_crashed' : 'function_error';
    send({ type: 'result', sid: c.sid, id: c.id, ok: false, error: { code, message: code === 'timeout' ? `function timed out after ${remaining} ms` : code === 'memory_exhausted' ? 'the isolate went over its memory limit; raise memoryMb or use less memory' : message }, logs: '', logsTruncated: false });
    if (code !== 'function_error') kill(c.sid, code);
  } finally {
    clearTimeout(deadline);
  }
}

const decoder = new FrameDecoder(64 * 1024 * 1024);
channel.on('data', (chunk: Buffer) => {
  for (const frame of decoder.push(chunk)) {
    const c = PoolCommand.parse(JSON.parse(frame.toString('utf8')));
    if (c.type === 'create') void create(c);
    else if (c.type === 'invoke') void invoke(c);
    else if (c.type === 'dispose') kill(c.sid, 'disposed');
    else {
      const box = boxes.get(c.sid);
      const h = box && !box.isolate.isDisposed ? box.isolate.getHeapStatisticsSync() : undefined;
      send({ type: 'stats', sid: c.sid, id: c.id, heapMb: h ? (h.used_heap_size + h.externally_allocated_size) / 1048576 : undefined });
    }
  }
});
channel.on('close', () => process.exit(0));
channel.on('error', () => process.exit(0));
send({ type: 'ready', pid: process.pid });
