// The CLI side of versions and aliases, against a real `nimbus serve`:
// `nimbus versions`, `nimbus alias set|get|list|delete` with a canary weight,
// `nimbus invoke fn:alias` and `fn:N`, rollback, and clear errors with exits.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli, serve, type Served } from '../helpers/cli.ts';

const code = (gen: number) =>
  `exports.handler = async (event, context) => ({ v: Number(context.functionVersion), gen: ${gen} });`;

describe('nimbus versions and nimbus alias', () => {
  let server: Served;
  let dir: string;
  let env: Record<string, string>;
  const cli = async (...args: string[]) => runCli(args, env);
  const ok = async (...args: string[]) => {
    const r = await cli(...args);
    assert.equal(r.code, 0, `nimbus ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'nimbus-versions-cli-'));
    server = await serve(['--data-dir', path.join(dir, 'data')]);
    env = { NIMBUS_URL: server.url };
    for (const gen of [1, 2, 3]) {
      await writeFile(path.join(dir, 'shop.js'), code(gen));
      await ok('deploy', path.join(dir, 'shop.js'));
    }
  });
  after(async () => {
    await server?.kill();
    await rm(dir, { recursive: true, force: true });
  });

  it('lists versions, sets an alias with a canary weight, invokes through it, rolls back', async () => {
    const versions = await ok('versions', 'shop');
    assert.match(versions, /^v1\t-\t[0-9a-f]{12}\t/m);
    assert.match(versions, /^v3\tcurrent\t/m);
    assert.match(
      await ok('alias', 'set', 'shop', 'prod', '2', '--weight', '3=0.25'),
      /made shop:prod\tv2 \(v2 75%, v3 25%\)/,
    );
    assert.deepEqual(JSON.parse(await ok('alias', 'get', 'shop', 'prod')).weights, { '3': 0.25 });
    assert.match(await ok('versions', 'shop'), /^v2\t-\t\S+\t\S+\tprod$/m);
    const seen = new Set<number>();
    for (let i = 0; i < 4; i++) seen.add(JSON.parse(await ok('invoke', 'shop:prod')).v);
    assert.ok(
      [...seen].every((v) => v === 2 || v === 3),
      [...seen].join(),
    );
    assert.deepEqual(JSON.parse(await ok('invoke', 'shop:1')), { v: 1, gen: 1 });

    assert.match(await ok('alias', 'set', 'shop', 'prod', '1'), /moved shop:prod\tv1\t/);
    assert.deepEqual(JSON.parse(await ok('invoke', 'shop:prod')), { v: 1, gen: 1 });
    assert.match(await ok('alias', 'list', 'shop'), /^prod\tv1\t/m);
    assert.match(await ok('versions', 'shop', '--delete', '2'), /deleted shop version 2/);
    assert.doesNotMatch(await ok('versions', 'shop'), /^v2\t/m);
    assert.match(await ok('alias', 'delete', 'shop', 'prod'), /deleted alias prod of shop/);
    assert.match(await ok('alias', 'list', 'shop'), /no aliases/);
  });

  it('says what was wrong, with a non-zero exit', async () => {
    const over = await cli('alias', 'set', 'shop', 'prod', '1', '--weight', '3=1.5');
    assert.equal(over.code, 1);
    assert.match(over.stderr, /bad_request: .*from 0 to 1/);
    const malformed = await cli('alias', 'set', 'shop', 'prod', '1', '--weight', 'three');
    assert.equal(malformed.code, 2);
    assert.match(malformed.stderr, /--weight expects VERSION=SHARE/);
    const current = await cli('versions', 'shop', '--delete', '3');
    assert.equal(current.code, 1);
    assert.match(current.stderr, /conflict: version 3 is the current version/);
    const missing = await cli('invoke', 'shop:nope');
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /not_found: function "shop" has no alias "nope"/);
  });
});
