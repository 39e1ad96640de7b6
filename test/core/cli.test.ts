// The `nimbus` CLI end to end against a real `nimbus serve`: deploy a file and
// a directory, invoke sync and async, list, get, activations, logs, delete,
// and clear errors with non-zero exits.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ROOT, runCli, serve, type Served } from '../helpers/cli.ts';

describe('nimbus CLI', () => {
  let server: Served;
  let dir: string;
  let env: Record<string, string>;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'nimbus-cli-'));
    server = await serve(['--data-dir', path.join(dir, 'data')]);
    env = { NIMBUS_URL: server.url };
  });
  after(async () => {
    await server.kill();
    await rm(dir, { recursive: true, force: true });
  });

  it('deploys a file, invokes it, lists and inspects it', async () => {
    const file = path.join(dir, 'greet.ts');
    await writeFile(file, 'export const handler = async (e: { who?: string }) => { console.log("greeting", e.who); return `hi ${e.who} ${process.env.PUNCT}`; };');
    const d = await runCli(['deploy', file, '--memory', '192', '--env', 'PUNCT=!'], env);
    assert.equal(d.code, 0, d.stderr);
    assert.match(d.stdout, /deployed greet version 1 \(engine process\)/);
    const inv = await runCli(['invoke', 'greet', '--data', '{"who":"cli"}'], env);
    assert.equal(inv.code, 0, inv.stderr);
    assert.equal(inv.stdout.trim(), '"hi cli !"');
    const list = await runCli(['list'], env);
    assert.match(list.stdout, /greet\tv1\tprocess\t192 MB/);
    const get = await runCli(['get', 'greet'], env);
    assert.equal(JSON.parse(get.stdout).config.env.PUNCT, '!');
    const acts = await runCli(['activations', '--function', 'greet'], env);
    const id = acts.stdout.split('\t')[0] ?? '';
    assert.match(acts.stdout, /greet\tsuccess\tcold/);
    const logs = await runCli(['logs', id], env);
    assert.match(logs.stdout, /greeting cli/);
  });

  it('deploys a directory with an npm dependency (the TypeScript example)', async () => {
    const d = await runCli(['deploy', path.join(ROOT, 'examples/greeter-ts')], env);
    assert.equal(d.code, 0, d.stderr);
    const inv = await runCli(['invoke', 'greeter-ts', '--data', `{"name":"dir","since":${Date.now() - 120_000}}`], env);
    assert.deepEqual(JSON.parse(inv.stdout), { greeting: 'Hello from TypeScript, dir!', ago: '2 minutes' });
  });

  it('invokes async and prints the activation id', async () => {
    const r = await runCli(['invoke', 'greet', '--async', '--data', '{"who":"later"}'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(JSON.parse(r.stdout).activationId, /^[0-9a-f]{32}$/);
  });

  it('fails clearly with non-zero exits', async () => {
    const missing = await runCli(['invoke', 'nope'], env);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /not_found: function "nope" does not exist/);
    const badJson = await runCli(['invoke', 'greet', '--data', '{oops'], env);
    assert.equal(badJson.code, 2);
    assert.match(badJson.stderr, /--data is not valid JSON/);
    const badFile = await runCli(['deploy', path.join(dir, 'absent.js')], env);
    assert.equal(badFile.code, 2);
    const noDataFile = await runCli(['invoke', 'greet', '--data', `@${path.join(dir, 'absent.json')}`], env);
    assert.equal(noDataFile.code, 2);
    assert.match(noDataFile.stderr, /cannot read --data @.*absent\.json \(no such file\)/);
    const broken = path.join(dir, 'broken.js');
    await writeFile(broken, 'exports.handler = (;');
    const compile = await runCli(['deploy', broken], env);
    assert.equal(compile.code, 1);
    assert.match(compile.stderr, /compile_error: the function does not build/);
    const down = await runCli(['list'], { NIMBUS_URL: 'http://127.0.0.1:9' });
    assert.equal(down.code, 3);
    assert.match(down.stderr, /cannot reach nimbus/);
    const usage = await runCli(['deploy'], env);
    assert.equal(usage.code, 2);
  });

  it('deletes a function', async () => {
    const r = await runCli(['delete', 'greet'], env);
    assert.equal(r.code, 0);
    assert.equal((await runCli(['get', 'greet'], env)).code, 1);
  });
});
