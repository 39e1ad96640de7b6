// FrameWriter (src/guest/protocol.ts), which the agent channel and the isolate
// pool's channel both use: the frames of one event-loop turn leave in one
// write, in order, and a reader's FrameDecoder gets every message back.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FrameDecoder, FrameWriter } from '../../src/guest/protocol.ts';

function recorder() {
  const writes: Buffer[] = [];
  return { writes, stream: { write: (chunk: Buffer) => writes.push(Buffer.from(chunk)) > 0 } };
}

const turn = () => new Promise((r) => setImmediate(r));

describe('FrameWriter', () => {
  it('sends the frames of one event-loop turn in one write, in order', async () => {
    const { writes, stream } = recorder();
    const writer = new FrameWriter(stream);
    for (let i = 0; i < 50; i++) writer.send({ type: 'invoke', id: `call-${i}` });
    assert.equal(writes.length, 0, 'nothing leaves before the turn ends');
    await turn();
    assert.equal(writes.length, 1);
    const messages = new FrameDecoder(1 << 20).push(writes[0]!).map((f) => JSON.parse(f.toString('utf8')));
    assert.deepEqual(
      messages.map((m: { id: string }) => m.id),
      Array.from({ length: 50 }, (_, i) => `call-${i}`),
    );
  });

  it('starts a new write for frames sent in a later turn', async () => {
    const { writes, stream } = recorder();
    const writer = new FrameWriter(stream);
    writer.send({ n: 1 });
    await turn();
    writer.send({ n: 2 });
    writer.send({ n: 3 });
    await turn();
    assert.equal(writes.length, 2);
    const decoder = new FrameDecoder(1 << 20);
    const counts = writes.map((w) => decoder.push(w).length);
    assert.deepEqual(counts, [1, 2]);
  });
});
