// The isolate engine's second wall, as an attacker who escaped V8 would find
// it (issue 13, probe). The pool process ran under bubblewrap started by the
// root platform, which maps root to host uid 0: without capabilities, but host
// uid 0 may still write host-wide settings such as
// /proc/sys/kernel/core_pattern (a pipe to a program there runs as full root
// on the next crash). The pool must run as an unprivileged uid of its own.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.ts';

/** Host pids of the isolate pools' Node processes that this test process started. */
function poolPids(): number[] {
  const parentOf = (pid: string) => Number(/^\d+ \(.*\) \S (\d+)/s.exec(readFileSync(`/proc/${pid}/stat`, 'utf8'))?.[1]);
  const mine = (pid: string) => {
    for (let p = Number(pid), i = 0; p > 1 && i < 20; p = parentOf(String(p)), i++) if (p === process.pid) return true;
    return false;
  };
  const out: number[] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('/nimbus/pool.cjs') && !readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('/usr/bin/bwrap') && mine(pid)) out.push(Number(pid));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

const uidOf = (pid: number) => Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);

describe('isolate pool identity', { skip: process.getuid?.() !== 0 && 'needs root, as the platform does' }, () => {
  let t: TestPlatform;
  before(async () => {
    t = await startTestPlatform();
  });
  after(() => t.close());

  it('runs each pool as an unprivileged uid of its own, which cannot write host-wide kernel settings', async () => {
    for (const name of ['iso-a', 'iso-b']) {
      assert.equal((await t.deploy(name, 'export default () => 41 + 1', { engine: 'isolate' })).status, 201);
      const r = await t.invoke(name);
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json, 42);
    }
    const pids = poolPids();
    assert.equal(pids.length, 2, `two pools, one per function: ${pids.join(',')}`);
    const uids = pids.map(uidOf);
    for (const uid of uids) assert.ok(uid >= 1_000_000, `pool runs as host uid ${uid}`);
    assert.notEqual(uids[0], uids[1], 'pools of two functions do not share a uid');
    const probe = spawnSync('setpriv', [`--reuid=${uids[0]}`, `--regid=${uids[0]}`, '--clear-groups', '--', 'sh', '-c', 'test -w /proc/sys/kernel/core_pattern'], { stdio: 'ignore' });
    assert.notEqual(probe.status, 0, 'that uid may not write core_pattern');
    assert.ok(execFileSync('cat', ['/proc/sys/kernel/core_pattern']).length > 0);
  });
});
