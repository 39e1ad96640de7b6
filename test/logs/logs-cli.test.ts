// `nimbus logs` against a running platform: --follow prints each line with
// its activation id while the call runs; without it, the recent lines; an
// activation id still prints that activation's logs; a missing function is a
// clear error.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ROOT, runCli } from '../helpers/cli.ts';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.ts';
import { TICKER } from './follow.ts';

describe('nimbus logs', () => {
  let t: TestPlatform;
  before(async () => {
    t = await startTestPlatform();
    assert.equal((await t.deploy('ticker', TICKER)).status, 201);
  });
  after(() => t.close());

  it('--follow prints lines as they come, with the activation id', async () => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(ROOT, 'src/cli/main.ts'), 'logs', 'ticker', '-f'],
      {
        cwd: ROOT,
        env: { ...process.env, NIMBUS_URL: t.url },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const until = async (what: string, check: () => boolean) => {
      const end = Date.now() + 30_000;
      while (!check()) {
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}; stdout: ${out}; stderr: ${err}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    try {
      await until('the CLI to follow', () => err.includes('following ticker'));
      const call = t.invoke('ticker');
      await until('the first line', () => out.includes('tick 0'));
      const firstAt = Date.now();
      const r = await call;
      assert.equal(r.status, 200);
      assert.ok(Date.now() - firstAt > 1000, 'the first line was printed while the call ran');
      const id = r.headers.get('x-nimbus-activation-id') ?? '';
      await until('the last line', () => out.includes('tick 2'));
      const lines = out.trim().split('\n');
      assert.equal(lines.length, 3);
      lines.forEach((l, i) => assert.match(l, new RegExp(`^\\d{4}-\\d\\d-\\d\\dT\\S+Z ${id} tick ${i}$`)));
    } finally {
      child.kill();
    }
  });

  it('prints the recent lines, one activation by id, and a clear error for a missing function', async () => {
    const { json } = await t.request('GET', '/v1/activations?function=ticker&limit=1');
    const id = json.activations[0].id as string;
    const recent = await runCli(['logs', 'ticker', '--limit', '2'], { NIMBUS_URL: t.url });
    assert.equal(recent.code, 0, recent.stderr);
    assert.match(recent.stdout, new RegExp(`^\\S+ ${id} tick 1\\n\\S+ ${id} tick 2\\n$`));
    const one = await runCli(['logs', id], { NIMBUS_URL: t.url });
    assert.equal(one.stdout, 'tick 0\ntick 1\ntick 2\n');
    const missing = await runCli(['logs', 'nope', '--follow'], { NIMBUS_URL: t.url });
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /not_found: function nope does not exist/);
  });
});
