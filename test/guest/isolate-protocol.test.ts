// The isolate pool's messages are named (PoolCommandType, PoolEventType) and
// every named kind is validated when it crosses between host and pool: each
// name has exactly one schema, no schema has a kind without a name, and a
// message of an unknown kind or with missing fields is refused.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PoolCommand, PoolCommandType, PoolEvent, PoolEventType } from '../../src/guest/isolate-protocol.ts';

/** The `type` each schema of a discriminated union accepts. */
function kinds(union: typeof PoolCommand | typeof PoolEvent): string[] {
  return union.options.map((o) => String(o.shape.type.value));
}

for (const [name, union, named] of [
  ['PoolCommand', PoolCommand, PoolCommandType],
  ['PoolEvent', PoolEvent, PoolEventType],
] as const) {
  test(`${name}: one schema per named kind, and none without a name`, () => {
    const values = Object.values(named) as string[];
    assert.equal(new Set(values).size, values.length, 'two names share one kind');
    assert.deepEqual([...kinds(union)].sort(), [...values].sort());
  });

  test(`${name}: a message of an unknown kind, or of a named kind with its fields missing, is refused`, () => {
    assert.equal(union.safeParse({ type: 'not-a-kind', sid: 's', id: 'i' }).success, false);
    for (const kind of Object.values(named)) assert.equal(union.safeParse({ type: kind }).success, false, kind);
  });
}

test('a well-formed message of a named kind is accepted as that kind', () => {
  assert.deepEqual(PoolCommand.parse({ type: PoolCommandType.Ping, id: 'p1' }), { type: 'ping', id: 'p1' });
  const dead = PoolEvent.parse({
    type: PoolEventType.Dead,
    sid: 's1',
    code: 'timeout',
    reason: 'ran past its deadline',
  });
  assert.equal(dead.type, PoolEventType.Dead);
});
