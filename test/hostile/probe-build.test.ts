// The build sandbox's system-call filter (issue 13, probe follow-up): the
// build runs esbuild on an upload anyone with the API key sends, under
// bubblewrap as an unprivileged uid, sharing the host's kernel. A bundler bug
// that ran code there would have met no system-call filter; the build worker
// now runs under the process engine's (io_uring, keys, bpf, ... refused). No
// code a deploy can send runs a raw system call at build time (esbuild only
// parses it), so the filter is read from the kernel's side (/proc status).
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { it } from 'node:test';
import { BuildWorker } from '../../src/frontend/build/build-worker.ts';
import { BUILD_UID_BASE } from '../../src/frontend/build/builder.ts';
import { findBuildTools } from '../../src/frontend/build/sandbox-command.ts';

/** The build worker's Node process (after setpriv's exec), once it runs. */
async function workerNode(uid: number, deadline: number): Promise<number> {
  while (Date.now() < deadline) {
    for (const pid of await readdir('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
      const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
      if (
        new RegExp(`^Uid:\\s+${uid}\\s`, 'm').test(status) &&
        cmdline.startsWith(process.execPath) &&
        cmdline.includes('/build/worker/main.ts')
      )
        return Number(pid);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no build worker ran as uid ${uid}`);
}

it(
  "runs the build worker under the sandboxes' system-call filter",
  {
    skip:
      (process.getuid?.() !== 0 || process.arch !== 'x64') &&
      'needs root (a build uid of its own) and an x86-64 host, as the filter does',
    timeout: 90_000,
  },
  async () => {
    const tools = findBuildTools(true);
    assert.ok(typeof tools !== 'string', String(tools));
    const uid = BUILD_UID_BASE + 977; // far from the slots a builder hands out
    const worker = await BuildWorker.start({ tools, memoryMb: 512, uid, name: `probe-${process.pid}` });
    try {
      const pid = await workerNode(uid, Date.now() + 60_000);
      const status = await readFile(`/proc/${pid}/status`, 'utf8');
      assert.match(status, /^Seccomp:\s+2$/m, 'the build worker runs without a seccomp filter');
      assert.match(status, /^NoNewPrivs:\s+1$/m);
    } finally {
      await worker.dispose();
    }
  },
);
