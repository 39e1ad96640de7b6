// The isolate pool: a Node process, itself confined by bubblewrap (no
// network, read-only filesystem, own pid namespace), that hosts one V8
// isolate per sandbox with isolated-vm. It reads validated commands from the
// host over its framed channel and answers with events; one isolate's
// failure never takes the others down, and a bug of its own ends the process.
import fs from 'node:fs';
import type IVM from 'isolated-vm';
import { openChannel } from './channel.guest.ts';
import { encodeFrame, FrameDecoder, FrameWriter } from './protocol.ts';
import { PoolCommand, PoolCommandType, PoolEventType, type PoolEvent } from './isolate-protocol.ts';
import { PoolIsolate, type PoolEnv } from './isolate-box.guest.ts';
import { CodeCache } from './isolate-code-cache.guest.ts';
import { Spares } from './isolate-shell.guest.ts';

// isolated-vm is a native addon: left out of the bundle, loaded from the path the host bound in.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const ivm = require(process.env.NIMBUS_IVM_PATH ?? 'isolated-vm') as typeof IVM;

const channel = openChannel(process.env.NIMBUS_AGENT_CHANNEL ?? 'fd:3');
const CHANNEL_FD = Number(/^fd:(\d+)$/.exec(process.env.NIMBUS_AGENT_CHANNEL ?? 'fd:3')?.[1] ?? 3);
const boxes = new Map<string, PoolIsolate>();

const cache = new CodeCache();
const runtimeCode = fs.readFileSync(process.env.NIMBUS_ISOLATE_RUNTIME ?? '', 'utf8');
/**
 * isolated-vm says the process must end after a catastrophic error. Tell the host whose isolate it was
 * first, written synchronously (an asynchronous write would never leave before the abort).
 */
function onFatal(sid: string, message: string): void {
  try {
    if (channel.writableLength === 0)
      fs.writeSync(
        CHANNEL_FD,
        encodeFrame({ type: PoolEventType.Fatal, sid, message: String(message).slice(0, 500) } satisfies PoolEvent),
      );
  } finally {
    process.abort();
  }
}

/** The events of one event-loop turn leave in one write (one wake-up of the host under load). */
const writer = new FrameWriter(channel);
const env: PoolEnv = {
  spares: new Spares({ ivm, runtimeCode, cache, onFatal }),
  cache,
  send: (e: PoolEvent) => writer.send(e),
  onGone: (box) => {
    if (boxes.get(box.sid) === box) boxes.delete(box.sid);
  },
};

function handle(c: PoolCommand): void {
  switch (c.type) {
    case PoolCommandType.Create: {
      if (boxes.has(c.sid))
        return env.send({
          type: PoolEventType.CreateError,
          sid: c.sid,
          error: { code: 'internal', message: `sandbox ${c.sid} already exists in the pool` },
          logs: '',
        });
      boxes.set(c.sid, new PoolIsolate(c, env));
      return;
    }
    case PoolCommandType.Invoke: {
      const box = boxes.get(c.sid);
      if (box) return box.invoke(c);
      return env.send({
        type: PoolEventType.Result,
        sid: c.sid,
        id: c.id,
        ok: false,
        error: { code: 'function_crashed', message: 'the isolate is gone' },
        logs: '',
        logsTruncated: false,
      });
    }
    case PoolCommandType.Dispose:
      boxes.get(c.sid)?.end('disposed', 'disposed');
      return env.send({ type: PoolEventType.Disposed, sid: c.sid, id: c.id });
    case PoolCommandType.Stats: {
      const box = boxes.get(c.sid);
      void (box ? box.stats() : Promise.resolve(undefined)).then((heap) =>
        env.send({ type: PoolEventType.Stats, sid: c.sid, id: c.id, heap }),
      );
      return;
    }
    case PoolCommandType.Fetched:
      return boxes.get(c.sid)?.fetched(c);
    case PoolCommandType.KvResult:
      return boxes.get(c.sid)?.kvAnswered(c.kvId, c.answer);
    case PoolCommandType.Ping:
      return env.send({ type: PoolEventType.Pong, id: c.id });
  }
}

const decoder = new FrameDecoder(256 * 1024 * 1024);
channel.on('data', (chunk: Buffer) => {
  for (const frame of decoder.push(chunk)) handle(PoolCommand.parse(JSON.parse(frame.toString('utf8'))));
});
channel.on('close', () => process.exit(0));
channel.on('error', () => process.exit(0));
process.on('uncaughtException', (e) => {
  process.stderr.write(`isolate pool failed: ${e.stack ?? String(e)}\n`);
  process.exit(70);
});
env.send({ type: PoolEventType.Ready, pid: process.pid, node: process.version });
