// The builder as a platform process uses it: closing it ends its workers even
// when nothing else keeps the process alive (a warm worker does not hold the
// event loop, but closing must still wait for it to be gone), and a process
// that never closes it still exits, its warm worker ended with it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const builderModule = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/frontend/build/builder.ts');

/** Runs a small program with the builder in its own Node process; returns its exit code and output. */
function runProgram(body: string): { status: number | null; stdout: string; stderr: string } {
  const program = `import { Builder } from ${JSON.stringify(builderModule)};
const b = new Builder({ timeoutMs: 30000, memoryMb: 512, maxOutputBytes: 1e8 });
const first = await b.source('export const handler = () => 1');
const second = await b.source('export const handler = () => 2');
console.log(first.exports.join(), second.exports.join());
${body}`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', program], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('the builder in a platform process', () => {
  it('close() finishes, with the warm worker gone, when nothing else holds the process', () => {
    const r = runProgram(`await b.close(); console.log('closed');`);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^handler handler\nclosed\n$/);
  });

  it('a process that never closes it exits on its own', () => {
    const r = runProgram('');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^handler handler\n$/);
  });
});
