// Length-prefixed JSON frames over a socket, the frames of one event-loop turn
// written together: how the floor servers cross into another process.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
export function framer(socket, onMessage) {
  let queued = [];
  let buffered = Buffer.alloc(0);
  socket.on('data', (chunk) => {
    buffered = buffered.length ? Buffer.concat([buffered, chunk]) : chunk;
    while (buffered.length >= 4) {
      const size = buffered.readUInt32BE(0);
      if (buffered.length < 4 + size) break;
      onMessage(JSON.parse(buffered.subarray(4, 4 + size).toString()));
      buffered = buffered.subarray(4 + size);
    }
  });
  return (message) => {
    const json = JSON.stringify(message);
    const frame = Buffer.allocUnsafe(4 + Buffer.byteLength(json));
    frame.writeUInt32BE(frame.length - 4, 0);
    frame.write(json, 4);
    if (queued.push(frame) === 1)
      setImmediate(() => {
        const all = queued;
        queued = [];
        socket.write(Buffer.concat(all));
      });
  };
}

/** Spawns `count` children of relay-floor.mjs and returns a relay: each event to the next child, its result back. */
export function childRelay(count) {
  const child = fileURLToPath(new URL('./relay-floor.mjs', import.meta.url));
  const pending = new Map();
  let next = 0;
  const senders = Array.from({ length: count }, () =>
    framer(
      spawn(process.execPath, [child, 'child'], { stdio: ['ignore', 'inherit', 'inherit', 'pipe'] }).stdio[3],
      (m) => {
        pending.get(m.id)?.(m.value);
        pending.delete(m.id);
      },
    ),
  );
  return (event) =>
    new Promise((resolve) => {
      const id = next++;
      pending.set(id, resolve);
      senders[id % senders.length]({ id, event });
    });
}
