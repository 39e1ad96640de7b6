// The sharding balancer's pure logic: the consistent-hash ring keeps homes
// stable as invokers come and go, and the choice goes home while it has a free
// slot, overflows to the least-loaded invoker otherwise, and goes home when
// every invoker is full.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HashRing } from '../../src/balancer/hash-ring.ts';
import { chooseInvoker, type InvokerLoad } from '../../src/balancer/sharding.ts';

const keys = Array.from({ length: 2000 }, (_, i) => `function-${i}`);
const homes = (ring: HashRing) => new Map(keys.map((k) => [k, ring.home(k)]));
const live = (...loads: [string, number, number][]) =>
  new Map<string, InvokerLoad>(loads.map(([id, inflight, slots]) => [id, { id, inflight, slots }]));

describe('hash ring', () => {
  it('spreads keys over the members roughly evenly', () => {
    const ring = new HashRing(['a', 'b', 'c', 'd']);
    const counts = new Map<string, number>();
    for (const k of keys) counts.set(ring.home(k) ?? '', (counts.get(ring.home(k) ?? '') ?? 0) + 1);
    assert.deepEqual([...counts.keys()].sort(), ['a', 'b', 'c', 'd']);
    for (const n of counts.values())
      assert.ok(n > 2000 / 4 / 2 && n < (2000 / 4) * 1.6, `uneven: ${[...counts.values()]}`);
  });

  it('moves only the keys of a member that leaves, and gives a new member only about its share', () => {
    const ring = new HashRing(['a', 'b', 'c', 'd']);
    const before = homes(ring);
    ring.remove('c');
    const after = homes(ring);
    for (const k of keys)
      if (before.get(k) !== 'c') assert.equal(after.get(k), before.get(k), `${k} moved though its home stayed`);
    ring.add('c');
    assert.deepEqual(homes(ring), before, 'adding the member back restores every home');
    ring.add('e');
    const now = homes(ring);
    const moved = keys.filter((k) => now.get(k) !== before.get(k));
    assert.ok(
      moved.every((k) => ring.home(k) === 'e'),
      'keys only move to the newcomer',
    );
    assert.ok(moved.length > 2000 / 5 / 2 && moved.length < (2000 / 5) * 1.6, `moved ${moved.length}`);
  });

  it('is the same on every process (depends on members, not on insertion order)', () => {
    assert.deepEqual(homes(new HashRing(['x', 'y', 'z'])), homes(new HashRing(['z', 'x', 'y'])));
    assert.equal(new HashRing().home('k'), undefined);
  });

  it('walks every member once, home first', () => {
    const ring = new HashRing(['a', 'b', 'c']);
    const order = ring.walk('k');
    assert.deepEqual([...order].sort(), ['a', 'b', 'c']);
    assert.equal(order[0], ring.home('k'));
  });
});

describe('choosing an invoker', () => {
  const ring = new HashRing(['a', 'b', 'c']);
  const key = 'fn';
  const [home, second, third] = ring.walk(key) as [string, string, string];

  it('goes home while the home has a free slot', () => {
    assert.equal(chooseInvoker(ring, live([home, 3, 4], [second, 0, 4], [third, 0, 4]), key), home);
  });

  it('overflows to the least-loaded invoker with a free slot when the home is full', () => {
    assert.equal(chooseInvoker(ring, live([home, 4, 4], [second, 3, 4], [third, 1, 4]), key), third);
    assert.equal(
      chooseInvoker(ring, live([home, 4, 4], [second, 1, 4], [third, 1, 4]), key),
      second,
      'ties go in ring order',
    );
    assert.equal(
      chooseInvoker(ring, live([home, 4, 4], [second, 3, 8], [third, 2, 4]), key),
      second,
      'load is relative to slots',
    );
  });

  it('goes home when every invoker is full, and skips invokers that are not live', () => {
    assert.equal(chooseInvoker(ring, live([home, 9, 4], [second, 4, 4], [third, 5, 4]), key), home);
    assert.equal(
      chooseInvoker(ring, live([second, 0, 4], [third, 0, 4]), key),
      second,
      'the next on the ring is the new home',
    );
    assert.equal(chooseInvoker(ring, live(), key), undefined);
  });
});
