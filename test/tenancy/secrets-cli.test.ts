// The CLI's secret verbs against a running `nimbus serve`: set from a file and
// from stdin (one final newline dropped), list without values, deploy with
// --secret, the function reading it, delete refused while in use.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ROOT, runCli, serve, type Served } from '../helpers/cli.ts';
import { READS_SECRET, fnv, secretValue } from './secrets-fixture.ts';

/** `nimbus <args>` with `input` on its stdin. */
function cliWithStdin(args: string[], env: Record<string, string>, input: string) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli/main.ts'), ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('exit', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    child.stdin.end(input);
  });
}

describe('nimbus secret set|list|delete and deploy --secret', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'nimbus-secret-cli-'));
  let served: Served;
  let env: Record<string, string>;
  before(async () => {
    served = await serve(['--data-dir', path.join(dir, 'data')], { NIMBUS_MASTER_KEY: '' });
    env = { NIMBUS_URL: served.url, NIMBUS_NAMESPACE: '' };
  });
  after(async () => {
    await served?.kill();
    await rm(dir, { recursive: true, force: true });
  });

  it('sets from a file and from stdin, lists names only, and a deployed function reads the value', async () => {
    const fromFile = secretValue('file');
    await writeFile(path.join(dir, 'value.txt'), fromFile);
    const made = await runCli(['secret', 'set', 'db-pass', '--from-file', path.join(dir, 'value.txt')], env);
    assert.equal(made.code, 0, made.stderr);
    assert.match(made.stdout, /^created secret db-pass/);
    const fromStdin = secretValue('stdin');
    const replaced = await cliWithStdin(['secret', 'set', 'db-pass'], env, `${fromStdin}\n`);
    assert.equal(replaced.code, 0, replaced.stderr);
    assert.match(replaced.stdout, /^replaced secret db-pass/);
    const list = await runCli(['secret', 'list'], env);
    assert.match(list.stdout, /^db-pass\tupdated \d{4}-/);
    assert.ok(!list.stdout.includes(fromStdin) && !list.stdout.includes(fromFile));

    const file = path.join(dir, 'reader.js');
    await writeFile(file, READS_SECRET);
    const deployed = await runCli(['deploy', file, '--secret', 'DB_PASSWORD=db-pass'], env);
    assert.equal(deployed.code, 0, deployed.stderr);
    const out = await runCli(['invoke', 'reader'], env);
    assert.equal(out.code, 0, out.stderr);
    assert.equal(JSON.parse(out.stdout).fnv, fnv(fromStdin), 'the value without the newline echo added');
  });

  it('refuses a delete while a function uses the secret, and a malformed --secret', async () => {
    const refused = await runCli(['secret', 'delete', 'db-pass'], env);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /conflict: secret "db-pass" is used by reader \(version 1\)/);
    const bad = await runCli(['deploy', path.join(dir, 'reader.js'), '--secret', 'no-equals'], env);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--secret expects ENV_NAME=secret-name/);
    assert.equal((await runCli(['delete', 'reader'], env)).code, 0);
    const deleted = await runCli(['secret', 'delete', 'db-pass'], env);
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.match((await runCli(['secret', 'list'], env)).stdout, /no secrets yet/);
  });
});
