// The runtime agent: the init process of every Node-based sandbox (process,
// container, microvm). It reads framed messages from the host over its control
// channel, loads the function once, and runs invocations (several at once when
// the function's concurrency allows), replying with results and captured logs.
import { createRequire } from 'node:module';
import { AsyncLocalStorage } from 'node:async_hooks';
import { openChannel } from './channel.guest.ts';
import { LogCapture, type LogSink } from './log-capture.guest.ts';
import { LiveBatcher } from './live-log.guest.ts';
import { prepare } from './prepare.guest.ts';
import { KvCalls } from './kv-client.guest.ts';
import {
  resolveHandler,
  runHandler,
  GuestCodedError,
  type ResolvedHandler,
  type FunctionContext,
  callContext,
} from './handlers.guest.ts';
import { HostMessage, FrameWriter, FrameDecoder, type GuestMessage, type GuestError } from './protocol.ts';

const channel = openChannel(process.env.NIMBUS_AGENT_CHANNEL ?? 'fd:3');
const decoder = new FrameDecoder(64 * 1024 * 1024);
const writer = new FrameWriter(channel);
/**
 * The activation that code running now belongs to: its log, and how to fail it
 * from an error thrown where no caller can catch it. One AsyncLocalStorage for
 * both: on Node 20 each instance costs every promise a hook.
 */
const running = new AsyncLocalStorage<{ log: LogSink; fail: (e: unknown) => void }>();
let logs: LogCapture | undefined;
/** Each running call's lines, streamed to the host while it runs. */
let live: LiveBatcher | undefined;
let handler: ResolvedHandler | undefined;
/** The function's KV store: each operation is a `kv` frame the host answers with `kv_result`. */
const kvCalls = new KvCalls((id, request) => send({ type: 'kv', id, request }));
let base: FunctionContext | undefined;
/** The artifact the function was loaded from: a later init of the same one (after a restore) only answers ready. */
let loadedFrom: string | undefined;

function send(message: GuestMessage): void {
  writer.send(message);
}

function toGuestError(e: unknown): GuestError {
  if (e instanceof GuestCodedError) return { code: e.code, message: e.message, stack: e.stack };
  if (e instanceof Error) return { code: 'function_error', message: e.message || e.name, stack: e.stack };
  return { code: 'function_error', message: typeof e === 'string' ? e : (JSON.stringify(e) ?? String(e)) };
}

function init(msg: Extract<HostMessage, { type: 'init' }>): void {
  // A guest restored from a function snapshot or from standby has loaded this function already.
  if (handler && loadedFrom === msg.artifactPath) {
    send({ type: 'ready', style: handler.style, initLogs: '' });
    return;
  }
  logs = new LogCapture(msg.logLimitBytes, () => running.getStore()?.log);
  live = new LiveBatcher(msg.logLimitBytes, (id, lines) => send({ type: 'log', id, lines }));
  logs.install();
  Object.assign(process.env, msg.env);
  base = {
    functionName: msg.functionName,
    functionVersion: msg.functionVersion,
    memoryMb: msg.memoryMb,
    env: msg.env,
    resultLimitBytes: msg.resultLimitBytes,
    kv: kvCalls.kv,
  };
  try {
    const mod = createRequire(msg.artifactPath)(msg.artifactPath) as unknown;
    handler = resolveHandler(mod, msg.handler);
    loadedFrom = msg.artifactPath;
    send({ type: 'ready', style: handler.style, initLogs: logs.takeOutside() });
  } catch (e) {
    send({ type: 'init_error', error: toGuestError(e), initLogs: logs.takeOutside() });
  }
}

async function invoke(msg: Extract<HostMessage, { type: 'invoke' }>): Promise<void> {
  if (!handler || !base || !logs || !live) {
    send({
      type: 'result',
      id: msg.id,
      ok: false,
      error: { code: 'internal', message: 'agent not initialised' },
      logs: '',
      logsTruncated: false,
    });
    return;
  }
  const h = handler;
  const fn = base;
  const deadline = msg.timeoutMs === undefined ? msg.deadline : Date.now() + msg.timeoutMs;
  const buffer = logs.newLog();
  const stream = live;
  const id = msg.id;
  stream.open(id);
  const log: LogSink = {
    add: (text) => {
      buffer.add(text);
      stream.write(id, text);
    },
  };
  const result = new Promise((resolve, reject) => {
    running.run({ log, fail: reject }, () =>
      runHandler(h, msg.input, callContext(fn, msg.id, deadline)).then(resolve, reject),
    );
  });
  try {
    const output = (await result) as Awaited<ReturnType<typeof runHandler>>;
    stream.close(id);
    send({ type: 'result', id: msg.id, ok: true, output, logs: buffer.text(), logsTruncated: buffer.truncated });
  } catch (e) {
    stream.close(id);
    send({
      type: 'result',
      id: msg.id,
      ok: false,
      error: toGuestError(e),
      logs: buffer.text(),
      logsTruncated: buffer.truncated,
    });
  }
}

function onStrayError(e: unknown): void {
  const fail = running.getStore()?.fail;
  if (fail) fail(e);
  else process.stderr.write(`uncaught outside any activation: ${e instanceof Error ? e.stack : String(e)}\n`);
}
process.on('uncaughtException', onStrayError);
process.on('unhandledRejection', onStrayError);

channel.on('data', (chunk: Buffer) => {
  for (const frame of decoder.push(chunk)) {
    const msg = HostMessage.parse(JSON.parse(frame.toString('utf8')));
    if (msg.type === 'init') init(msg);
    else if (msg.type === 'invoke') void invoke(msg);
    else if (msg.type === 'prepare') send(prepare(msg));
    else if (msg.type === 'kv_result') kvCalls.answered(msg.id, msg.answer);
    else {
      const m = process.memoryUsage();
      send({ type: 'pong', id: msg.id, rssBytes: m.rss, heapUsedBytes: m.heapUsed });
    }
  }
});
channel.on('end', () => process.exit(0));
channel.on('close', () => process.exit(0));
channel.on('error', () => process.exit(0));
