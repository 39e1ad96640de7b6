// isoTime writes what Date#toISOString writes, whether its cached second is
// reused, replaced, or bypassed (times outside years 1970-9999, fractions).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isoTime } from '../../src/shared/iso-time.ts';

test('isoTime matches toISOString across seconds, milliseconds and the edges of its cheap form', () => {
  const now = Date.now();
  const times = [
    0,
    1,
    9,
    10,
    99,
    100,
    999,
    1000,
    1001,
    now,
    now + 1,
    now - 1000,
    now + 86_400_000,
    253402300799999,
    253402300800000,
    -1,
    -86_400_001,
    1.5,
  ];
  for (let i = 0; i < 20_000; i++) times.push(now - 1e9 + i * 997, now + (i % 7)); // seconds change, then repeat
  for (const ms of times) assert.equal(isoTime(ms), new Date(ms).toISOString(), String(ms));
});

test('isoTime without an argument is now', () => {
  const before = Date.now();
  const stamped = Date.parse(isoTime());
  assert.ok(stamped >= before && stamped <= Date.now());
});
