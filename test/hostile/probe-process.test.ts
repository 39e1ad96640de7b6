// The process engine's wall, as a function that goes for the kernel would try
// it (issue 13, probe). A process sandbox shares the host's kernel with no
// system-call filter, and this host lets unprivileged users set up io_uring,
// the usual way into kernel bugs; the key management calls keep per-uid
// state in the kernel. A function must find them refused (EPERM), with the
// rest of its system calls, and its descriptors, as before.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.ts';

const PROBE = `const fs = require('fs'); const cp = require('child_process');
exports.handler = () => {
  const status = fs.readFileSync('/proc/self/status', 'utf8');
  const py = 'import ctypes, os\\nlibc = ctypes.CDLL(None, use_errno=True)\\n' +
    'for name, nr in (("io_uring_setup", 425), ("keyctl", 250), ("getppid", 110)):\\n' +
    '    ctypes.set_errno(0); r = libc.syscall(nr, 0, 0, 0, 0, 0); print(name, r, os.strerror(ctypes.get_errno()))\\n';
  const calls = fs.existsSync('/usr/bin/python3') ? cp.execFileSync('/usr/bin/python3', ['-c', py], { encoding: 'utf8' }) : '';
  return { seccomp: /^Seccomp:\\s+(\\d+)/m.exec(status)[1], calls, fds: fs.readdirSync('/proc/self/fd').map((fd) => { try { return fs.readlinkSync('/proc/self/fd/' + fd); } catch { return ''; } }), tmp: (fs.writeFileSync('/tmp/x', 'ok'), fs.readFileSync('/tmp/x', 'utf8')) };
};`;

describe(
  'process engine system calls',
  { skip: (process.getuid?.() !== 0 || process.arch !== 'x64') && 'needs root and an x86-64 host, as the filter does' },
  () => {
    let t: TestPlatform;
    before(async () => {
      t = await startTestPlatform();
    });
    after(() => t.close());

    it('refuses io_uring and the key management calls (EPERM) under a seccomp filter; the rest still works', async () => {
      assert.equal((await t.deploy('kernel-probe', PROBE, { engine: 'process' })).status, 201);
      const r = await t.invoke('kernel-probe');
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.seccomp, '2', 'the sandbox runs under a seccomp filter');
      assert.equal(r.json.tmp, 'ok');
      assert.ok(
        !r.json.fds.some((link: string) => link.includes('seccomp') || link.includes('nimbus-process')),
        `no host file stays open: ${r.json.fds}`,
      );
      if (existsSync('/usr/bin/python3')) {
        assert.match(r.json.calls, /^io_uring_setup -1 Operation not permitted$/m);
        assert.match(r.json.calls, /^keyctl -1 Operation not permitted$/m);
        assert.match(r.json.calls, /^getppid \d+ Success$/m);
      }
    });
  },
);
