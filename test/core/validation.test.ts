// Bad input gets a clear error with the right status, and nothing stored is
// lost or half-written: compile errors, malformed JSON, names, unknown
// functions, oversized bodies, hostile archives.
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import os from 'node:os';
import { after, before, describe, it } from 'node:test';
import { makeTar, makeZip } from '../helpers/archives.ts';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.ts';

const archiveDirs = async () => (await readdir(os.tmpdir())).filter((d) => d.startsWith('nimbus-archive-'));

describe('validation', () => {
  let t: TestPlatform;
  before(async () => {
    t = await startTestPlatform({ unpackedLimitBytes: 4 * 1024 * 1024 });
  });
  after(() => t.close());

  it("a syntax error is a 400 with esbuild's message and line", async () => {
    const r = await t.deploy('broken', 'exports.handler = async () => {\n  return 1 +;\n}');
    assert.equal(r.status, 400);
    assert.equal(r.json.error.code, 'compile_error');
    assert.match(r.json.error.message, /index\.(js|ts):2:\d+: Unexpected ";"/);
    assert.equal((await t.request('GET', '/v1/functions/broken')).status, 404, 'nothing was stored');
  });

  it('code without a handler is a 400 that says what to export', async () => {
    const r = await t.deploy('nohandler', 'export const something = 1;');
    assert.equal(r.status, 400);
    assert.match(r.json.error.message, /no handler found \(it exports something\)/);
  });

  it('a known path asked with a method it does not serve is a 405 that names the allowed ones', async () => {
    const invoke = await t.request('GET', '/v1/functions/anything/invoke');
    assert.equal(invoke.status, 405);
    assert.equal(invoke.json.error.code, 'method_not_allowed');
    assert.equal(invoke.headers.get('allow'), 'POST');
    assert.match(invoke.json.error.message, /GET is not allowed on \/v1\/functions\/:name\/invoke; use POST/);
    const fn = await t.request('POST', '/v1/functions/anything');
    assert.equal(fn.status, 405);
    assert.equal(fn.headers.get('allow'), 'GET, PUT, DELETE');
    const options = await t.request('OPTIONS', '/v1/functions/anything');
    assert.equal(options.status, 204, 'OPTIONS names the methods instead');
    assert.equal(options.headers.get('allow'), 'GET, PUT, DELETE');
    assert.equal((await t.request('GET', '/v1/no-such-thing')).status, 404, 'an unknown path stays a 404');
  });

  it('an unknown deploy field is named once, with what to do', async () => {
    const r = await t.request('PUT', '/v1/functions/typo', {
      code: 'exports.handler = () => 1',
      runtime: 'nodejs',
      memroyMb: 256,
    });
    assert.equal(r.status, 400);
    assert.match(
      r.json.error.message,
      /^invalid deploy request: unknown field "memroyMb" \(the fields are [^)]*\bmemoryMb\b[^)]*\)$/,
    );
  });

  it('malformed JSON is a 400', async () => {
    const r = await t.request('PUT', '/v1/functions/x', '{"code": ', { 'content-type': 'application/json' });
    assert.equal(r.status, 400);
    assert.equal(r.json.error.code, 'bad_request');
    assert.match(r.json.error.message, /not valid JSON/);
    await t.deploy('echo', 'exports.handler = async (e) => e');
    const inv = await t.request('POST', '/v1/functions/echo/invoke', '{nope', { 'content-type': 'application/json' });
    assert.equal(inv.status, 400);
  });

  it('an async flag that is neither yes nor no is a 400, and runs nothing', async () => {
    await t.deploy('flagged', 'let n = 0; exports.handler = async () => ++n');
    for (const query of ['?async=maybe', '?async=toString', '?async=1&async=1']) {
      const r = await t.request('POST', `/v1/functions/flagged/invoke${query}`, {});
      assert.equal(r.status, 400, query);
      assert.match(r.json.error.message, /async must be 1, true, 0 or false/, query);
    }
    const sync = await t.request('POST', '/v1/functions/flagged/invoke?async=false', {});
    assert.equal(sync.status, 200);
    assert.equal(sync.json, 1, 'the rejected calls did not run');
    for (const query of ['?async', '?async=true'])
      assert.equal((await t.request('POST', `/v1/functions/flagged/invoke${query}`, {})).status, 202, query);
    const explicitSync = await t.request(
      'POST',
      '/v1/functions/flagged/invoke?async=0',
      {},
      { prefer: 'respond-async' },
    );
    assert.equal(explicitSync.status, 200, '?async=0 outranks Prefer: respond-async');
    assert.equal(typeof explicitSync.json, 'number');
  });

  it('bad config values are a 400 naming the field', async () => {
    const r = await t.deploy('cfg', 'exports.handler = () => 1', { memoryMb: 5, engine: 'vmware' });
    assert.equal(r.status, 400);
    assert.match(r.json.error.message, /memoryMb/);
    assert.match(r.json.error.message, /engine/);
    const unknown = await t.deploy('cfg', 'exports.handler = () => 1', { memroyMb: 256 });
    assert.equal(unknown.status, 400);
    assert.match(unknown.json.error.message, /memroyMb/);
  });

  it("a microvm function below the engine's memory floor is a 400 at deploy, and nothing is stored", async () => {
    const r = await t.deploy('tiny-vm', 'exports.handler = () => 1', { engine: 'microvm', memoryMb: 128 });
    assert.equal(r.status, 400, r.text);
    assert.match(r.json.error.message, /microvm function needs memoryMb >= 160/);
    assert.equal((await t.request('GET', '/v1/functions/tiny-vm')).status, 404);
  });

  it('an invalid function name is a 400', async () => {
    for (const name of ['-bad', 'has.dot', 'a'.repeat(65), '%20x']) {
      const r = await t.deploy(name, 'exports.handler = () => 1');
      assert.equal(r.status, 400, name);
      assert.match(r.json.error.message, /invalid function name/);
    }
  });

  it('an env value with NUL is a 400 at deploy that names the variable, on every engine, and nothing is stored', async () => {
    for (const engine of ['process', 'container', 'isolate']) {
      const r = await t.deploy('nul-env', 'exports.handler = async () => process.env.A', {
        engine,
        env: { OK: 'fine', A: 'a\u0000b' },
      });
      assert.equal(r.status, 400, `${engine}: ${r.text}`);
      assert.equal(r.json.error.code, 'bad_request');
      assert.match(r.json.error.message, /env\.A: env values must not contain a NUL character/);
      assert.equal((await t.request('GET', '/v1/functions/nul-env')).status, 404, 'nothing was stored');
    }
  });

  it('an env name the container engine would refuse at start is a 400 at deploy that says the rule', async () => {
    for (const name of ['A-B', '1A', 'A=B', 'A B', '']) {
      const r = await t.deploy('bad-env', 'exports.handler = async () => 1', { env: { [name]: 'v' } });
      assert.equal(r.status, 400, `${JSON.stringify(name)}: ${r.text}`);
      assert.match(r.json.error.message, /env names must be letters, digits and "_", not starting with a digit/);
    }
    assert.equal((await t.request('GET', '/v1/functions/bad-env')).status, 404, 'nothing was stored');
  });

  it('an unknown function or activation is a 404', async () => {
    assert.equal((await t.invoke('ghost')).status, 404);
    assert.equal((await t.request('GET', '/v1/functions/ghost')).json.error.code, 'not_found');
    assert.equal((await t.request('DELETE', '/v1/functions/ghost')).status, 404);
    assert.equal((await t.request('GET', '/v1/activations/nope')).status, 404);
    assert.equal((await t.fnRequest('GET', '/fn/ghost/x')).status, 404);
    assert.equal((await t.request('GET', '/v2/whatever')).status, 404);
  });

  it('an 8 MB body is a 413', async () => {
    const r = await t.request('POST', '/v1/functions/echo/invoke', Buffer.alloc(8 * 1024 * 1024, 'a'), {
      'content-type': 'application/octet-stream',
    });
    assert.equal(r.status, 413);
    assert.equal(r.json.error.code, 'payload_too_large');
  });

  const hostile: [string, () => Promise<Buffer>, RegExp][] = [
    [
      'zip with ../ entries',
      async () =>
        makeZip([
          { name: 'index.js', data: Buffer.from('exports.handler=()=>1') },
          { name: '../evil.js', data: Buffer.from('x') },
        ]),
      /\.\.|relative path/,
    ],
    [
      'zip with an absolute path',
      async () => makeZip([{ name: '/tmp/evil.js', data: Buffer.from('x') }]),
      /absolute path/,
    ],
    [
      'zip with a symlink',
      async () => makeZip([{ name: 'index.js', data: Buffer.from('/etc/passwd'), symlink: true }]),
      /symbolic link/,
    ],
    [
      'zip bomb',
      async () =>
        makeZip([
          { name: 'index.js', data: Buffer.from('exports.handler=()=>1') },
          { name: 'big.bin', data: Buffer.alloc(16 * 1024 * 1024), deflate: true },
        ]),
      /unpacks to more than 4194304 bytes/,
    ],
    ['tar with ../ entries', () => makeTar([{ name: '../escape.js', data: 'x' }]), /climbs out/],
    [
      'tar with a symlink',
      () => makeTar([{ name: 'index.js', type: 'symlink', linkname: '/etc/shadow' }]),
      /symlink, not a regular file/,
    ],
    ['garbage', async () => Buffer.from('PK\u0003\u0004 this is not really a zip'), /corrupt zip/],
  ];
  for (const [what, make, message] of hostile) {
    it(`rejects a ${what} with 400 and writes nothing`, async () => {
      const before = await archiveDirs();
      const r = await t.request('PUT', '/v1/functions/hostile', await make(), { 'content-type': 'application/zip' });
      assert.equal(r.status, 400, r.text);
      assert.equal(r.json.error.code, 'bad_archive');
      assert.match(r.json.error.message, message);
      assert.deepEqual(await archiveDirs(), before, 'no unpacked directory is left behind');
      assert.equal((await t.request('GET', '/v1/functions/hostile')).status, 404);
    });
  }

  it('deploys a good zip and tar of a directory', async () => {
    const zip = makZipOk();
    const r = await t.request('PUT', '/v1/functions/zipped', zip, { 'content-type': 'application/zip' });
    assert.equal(r.status, 201, r.text);
    assert.deepEqual((await t.invoke('zipped', { a: 1 })).json, { fromLib: 'lib says hi', a: 1 });
    const tarball = await makeTar([
      { name: 'package.json', data: '{"main":"src/app.js"}' },
      { name: 'src/app.js', data: 'exports.main = (p) => ({ tar: true, p })' },
    ]);
    const t2 = await t.request('PUT', '/v1/functions/tarred?memoryMb=512', tarball, {
      'content-type': 'application/x-tar',
    });
    assert.equal(t2.status, 201, t2.text);
    assert.equal(t2.json.config.memoryMb, 512);
    assert.deepEqual((await t.invoke('tarred', { q: 2 })).json, { tar: true, p: { q: 2 } });
  });
});

function makZipOk(): Buffer {
  return makeZip([
    { name: 'lib/', data: Buffer.alloc(0) },
    { name: 'lib/greet.js', data: Buffer.from('module.exports = () => "lib says hi";') },
    {
      name: 'index.js',
      data: Buffer.from(
        'const greet = require("./lib/greet"); exports.handler = async (e) => ({ fromLib: greet(), ...e });',
      ),
      deflate: true,
    },
  ]);
}
