// The guest's live line cutter and batcher (src/guest/live-log.guest.ts):
// lines split at newlines, an unfinished line held until it ends or the call
// does, long lines sent in pieces, at most limitBytes a call then one marker,
// batches every 100 ms or at once past 32 KB, and a call's last lines on close.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LIVE_FLUSH_MS, LiveBatcher, LiveLines } from '../../src/guest/live-log.guest.ts';
import type { LiveLine } from '../../src/guest/protocol.ts';

const texts = (lines: LiveLine[]) => lines.map((l) => l.line);

describe('live lines', () => {
  it('splits at newlines and holds an unfinished line, with the time it began', () => {
    const l = new LiveLines(1024);
    l.add('a\nb', 1);
    l.add('c\n\nd', 2);
    assert.deepEqual(l.take(), [
      { ts: 1, line: 'a' },
      { ts: 1, line: 'bc' },
      { ts: 2, line: '' },
    ]);
    l.end();
    assert.deepEqual(l.take(), [{ ts: 2, line: 'd' }]);
    assert.deepEqual(l.take(), []);
  });

  it('sends a long line in pieces, and an unfinished one once it is that long', () => {
    const l = new LiveLines(1024 * 1024);
    l.add(`${'x'.repeat(40_000)}\n`, 1);
    assert.deepEqual(
      l.take().map((p) => p.line.length),
      [16_384, 16_384, 7232],
    );
    l.add('y'.repeat(20_000), 2);
    assert.deepEqual(
      l.take().map((p) => p.line.length),
      [16_384, 3616],
    );
  });

  it('stops at limitBytes (UTF-8, newline counted) with one marker line', () => {
    const l = new LiveLines(10);
    l.add('éé\n', 1); // 5 bytes with the newline
    l.add('abcd\n', 1); // 5: exactly the limit
    l.add('z\n', 1);
    l.add('more\n', 1);
    assert.deepEqual(texts(l.take()), [
      'éé',
      'abcd',
      '[nimbus: live log cut after 10 bytes; the activation record keeps its own copy]',
    ]);
  });
});

describe('live batcher', () => {
  it('batches each call every flush, sends at close ahead of anything after, and ignores unknown calls', async () => {
    const sent: [string, string[]][] = [];
    const b = new LiveBatcher(1024, (id, lines) => sent.push([id, texts(lines)]));
    b.open('a');
    b.open('b');
    b.write('a', 'one\n');
    b.write('a', 'two\n');
    b.write('b', 'other\n');
    b.write('nobody', 'lost\n');
    assert.deepEqual(sent, []);
    await new Promise((r) => setTimeout(r, LIVE_FLUSH_MS + 50));
    assert.deepEqual(sent, [
      ['a', ['one', 'two']],
      ['b', ['other']],
    ]);
    b.write('a', 'three\nunfinished');
    b.close('a');
    assert.deepEqual(sent.at(-1), ['a', ['three', 'unfinished']]);
    b.write('a', 'after close\n');
    b.close('b');
    await new Promise((r) => setTimeout(r, LIVE_FLUSH_MS + 50));
    assert.equal(sent.length, 3);
  });

  it('sends at once past 32 KB pending', () => {
    const sent: number[] = [];
    const b = new LiveBatcher(1024 * 1024, (_id, lines) => sent.push(lines.length));
    b.open('a');
    for (let i = 0; i < 400; i++) b.write('a', `${'z'.repeat(99)}\n`);
    assert.ok(sent.length >= 1 && sent[0]! >= 320, `sent ${JSON.stringify(sent)}`);
    b.close('a');
  });
});
