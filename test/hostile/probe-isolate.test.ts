// The isolate engine's second wall, as an attacker who escaped V8 would find
// it (issue 13, probe). The pool process ran under bubblewrap started by the
// root platform, which maps root to host uid 0: without capabilities, but host
// uid 0 may still write host-wide settings such as
// /proc/sys/kernel/core_pattern (a pipe to a program there runs as full root
// on the next crash). The pool must run as an unprivileged uid of its own.
// Its fetch() is made by the host, in the platform's own process, each answer
// read there in full (up to 16 MB) before the isolate gets it: sixteen at once
// from a 128 MB function made the platform grow by 700 MB, outside the caps;
// a sandbox's answers in flight now share a budget of an eighth of its memory.
// The pool shares the host's kernel: it gets the process engine's system-call
// filter (it had none).
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { fetchBudget, proxyFetch } from '../../src/sandbox/isolate/fetch-proxy.ts';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.ts';

/** Host pids of the isolate pools' Node processes that this test process started. */
function poolPids(): number[] {
  const parentOf = (pid: string) =>
    Number(/^\d+ \(.*\) \S (\d+)/s.exec(readFileSync(`/proc/${pid}/stat`, 'utf8'))?.[1]);
  const mine = (pid: string) => {
    for (let p = Number(pid), i = 0; p > 1 && i < 20; p = parentOf(String(p)), i++) if (p === process.pid) return true;
    return false;
  };
  const out: number[] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      if (
        readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('/nimbus/pool.cjs') &&
        !readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('/usr/bin/bwrap') &&
        mine(pid)
      )
        out.push(Number(pid));
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
    const probe = spawnSync(
      'setpriv',
      [
        `--reuid=${uids[0]}`,
        `--regid=${uids[0]}`,
        '--clear-groups',
        '--',
        'sh',
        '-c',
        'test -w /proc/sys/kernel/core_pattern',
      ],
      { stdio: 'ignore' },
    );
    assert.notEqual(probe.status, 0, 'that uid may not write core_pattern');
    assert.ok(execFileSync('cat', ['/proc/sys/kernel/core_pattern']).length > 0);
  });

  // An escape from V8 lands in the pool's Node, which shares the host's kernel: it must meet the same
  // system-call filter as a process sandbox (io_uring, keys, bpf, ... refused). No code a function can
  // write runs a raw system call there, so the filter is read from the kernel's side (/proc status).
  it(
    "runs each pool under the sandboxes' system-call filter",
    { skip: process.arch !== 'x64' && 'the filter is built for x86-64 hosts' },
    async () => {
      assert.equal((await t.deploy('iso-seccomp', 'export default () => 7', { engine: 'isolate' })).status, 201);
      assert.equal((await t.invoke('iso-seccomp')).status, 200);
      const pids = poolPids();
      assert.ok(pids.length > 0, 'no pool found');
      for (const pid of pids) {
        const status = readFileSync(`/proc/${pid}/status`, 'utf8');
        assert.match(status, /^Seccomp:\s+2$/m, `pool ${pid} runs without a seccomp filter`);
        assert.match(status, /^NoNewPrivs:\s+1$/m);
      }
    },
  );
});

describe('isolate fetch through the host', () => {
  let server: Server;
  let url = '';
  const MB = 1024 * 1024;
  // Each answer is 4.6 MB: 4.5 MB at once, the rest only once sixteen requests are all open, so that
  // the platform would hold 4.5 MB of every one of them at the same time.
  let waiting: (() => void)[] = [];
  before(async () => {
    server = createServer((_req, res) => {
      res.on('error', () => undefined);
      res.write(Buffer.alloc(4.5 * MB, 97));
      waiting.push(() => res.end(Buffer.alloc(0.1 * MB, 98)));
      if (waiting.length >= 16) {
        for (const finish of waiting) finish();
        waiting = [];
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it("stops reading a sandbox's answers past an eighth of its memory (at least 16 MB) held at once", async () => {
    const budget = fetchBudget(128);
    const request = { method: 'GET', url, headers: {}, bodyBase64: '' };
    const answers = await Promise.all(
      Array.from({ length: 16 }, () =>
        proxyFetch(request, Date.now() + 20_000, { allow: ['127.0.0.1/32'] }, undefined, budget),
      ),
    );
    const refused = answers.filter((a) => a.error);
    assert.ok(refused.length > 0, 'the platform held all sixteen answers (72 MB) at once for a 128 MB sandbox');
    assert.match(
      refused[0]?.error ?? '',
      /over 16 MB \(an eighth of memoryMb, at least 16 MB\); fetch fewer at once, or raise memoryMb/,
    );
    assert.equal(budget.left, budget.total, 'everything is given back');
    const one = await Promise.all(
      Array.from({ length: 16 }, (_, i) =>
        i === 0
          ? proxyFetch(request, Date.now() + 20_000, { allow: ['127.0.0.1/32'] }, undefined, budget)
          : fetch(url).then(async (r) => ({
              response: { bodyBase64: Buffer.from(await r.arrayBuffer()).toString('base64') },
            })),
      ),
    );
    assert.equal(
      Buffer.from(one[0]?.response?.bodyBase64 ?? '', 'base64').length,
      Math.floor(4.5 * MB) + Math.floor(0.1 * MB),
      'one answer alone still arrives whole',
    );
  });
});
