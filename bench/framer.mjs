// Length-prefixed JSON frames over a socket, the frames of one event-loop turn
// written together: how the floor servers cross into another process.
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
