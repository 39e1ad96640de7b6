// The log buffer both runtimes use (the Node agent and the isolate runtime):
// capped in UTF-8 bytes, never splitting a character, counting what it drops.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LogBuffer } from '../../src/guest/log-buffer.guest.ts';
import { utf8Length } from '../../src/guest/base64.guest.ts';

test('utf8Length counts like Buffer.byteLength, surrogate pairs and lone surrogates included', () => {
  for (const s of ['', 'abc', 'é', '€', '😀', 'a😀b€é', '\ud800', 'x\udc00y', '\ud83d']) {
    assert.equal(utf8Length(s), Buffer.byteLength(s), JSON.stringify(s));
  }
});

test('a log within its cap is kept whole, unmarked', () => {
  const log = new LogBuffer(10);
  log.add('12345');
  log.add('67890');
  assert.equal(log.truncated, false);
  assert.equal(log.text(), '1234567890');
});

test('a log over its cap keeps the head that fits, whole characters only, and says how many bytes were dropped', () => {
  const log = new LogBuffer(10);
  log.add('abcdefgh'); // 8 bytes
  log.add('€€'); // 6 bytes: no whole € fits in the 2 left
  log.add('more'); // 4 bytes
  assert.equal(log.truncated, true);
  assert.equal(log.text(), 'abcdefgh\n[nimbus: log truncated, 10 bytes dropped]\n');
});

test('the cut falls inside a write when part of it fits', () => {
  const log = new LogBuffer(7);
  log.add('ab😀cd😀'); // 2 + 4 + 2 + 4 = 12 bytes; 'ab😀c' is 7
  assert.equal(log.text(), 'ab😀c\n[nimbus: log truncated, 5 bytes dropped]\n');
});
