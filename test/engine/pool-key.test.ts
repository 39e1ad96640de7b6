// The pool key (name@version) is built and read in one place: every function
// name the platform accepts survives the round trip, and anything that is not
// a key poolKey could have made is refused as the platform bug it would be.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FUNCTION_NAME } from '../../src/frontend/build/function-spec.ts';
import { parsePoolKey, poolKey } from '../../src/engine/pool-key.ts';
import { isNimbusError } from '../../src/shared/errors.ts';

describe('pool key', () => {
  it('reads back the name and version it was built from', () => {
    for (const [name, version] of [
      ['f', 1],
      ['hello-world_2', 12],
      ['A', Number.MAX_SAFE_INTEGER],
      ['x'.repeat(64), 3],
    ] as const) {
      assert.match(name, FUNCTION_NAME);
      const key = poolKey(name, version);
      assert.equal(key, `${name}@${version}`);
      assert.deepEqual(parsePoolKey(key), { name, version });
    }
  });

  it('tells apart functions whose names share a beginning', () => {
    assert.notEqual(parsePoolKey(poolKey('api', 2)).name, parsePoolKey(poolKey('api-v2', 2)).name);
    assert.equal(parsePoolKey(poolKey('api-v2', 7)).name, 'api-v2');
  });

  it('refuses what no poolKey call makes, as an internal error naming the key', () => {
    for (const bad of ['', 'f', '@1', 'f@', 'f@0', 'f@-1', 'f@1.5', 'f@01', 'f@ 1', 'f@1e3', 'f@NaN', `f@${2 ** 60}`]) {
      assert.throws(
        () => parsePoolKey(bad),
        (e: unknown) => isNimbusError(e) && e.code === 'internal' && e.message.includes(`"${bad}"`),
        bad,
      );
    }
  });
});
