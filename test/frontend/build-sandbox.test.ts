// The build sandbox's own wall, apart from the confine plugin: Node run with
// the build's exact bubblewrap command line (the worker script swapped for a
// probe) is an unprivileged uid without capabilities and with a process cap,
// sees neither /etc/shadow nor a host file readable by everyone nor the
// repository, cannot write its upload, and cannot reach a listener on the
// host's loopback.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { describe, it } from 'node:test';
import { BUILD_UID_BASE } from '../../src/frontend/build/builder.ts';
import {
  BUILD_PROCESSES,
  findBuildTools,
  INSIDE,
  SECCOMP_FD,
  sandboxCommand,
} from '../../src/frontend/build/sandbox-command.ts';
import { sendFilter } from '../../src/sandbox/seccomp/filter.ts';
import { createTempDir } from '../helpers/temp.ts';

const hostDir = await createTempDir('nimbus-build-wall', 0o755);
const hostFile = path.join(hostDir, 'readable-by-all.txt');
await writeFile(hostFile, 'host content', { mode: 0o644 });
const workspace = path.join(await createTempDir('nimbus-build-wall-ws'), 'workspace');
await mkdir(path.join(workspace, 'upload'), { recursive: true, mode: 0o755 });
await writeFile(path.join(workspace, 'upload', 'index.js'), 'exports.handler = () => 1;');

const probe = (port: number) => `
const fs = require('fs');
const status = fs.readFileSync('/proc/self/status', 'utf8');
const field = (k) => (status.match(new RegExp('^' + k + ':\\\\s+(\\\\S+)', 'm')) || [])[1];
const sees = (p) => { try { fs.readFileSync(p); return true; } catch { return false; } };
let writable = true; try { fs.writeFileSync('${INSIDE.upload}/x', 'x'); } catch { writable = false; }
const nproc = (fs.readFileSync('/proc/self/limits', 'utf8').match(/^Max processes\\s+(\\S+)/m) || [])[1];
const out = { uid: process.getuid(), capEff: field('CapEff'), noNewPrivs: field('NoNewPrivs'), nproc, shadow: sees('/etc/shadow'), hostFile: sees(${JSON.stringify(hostFile)}),
  repo: sees(${JSON.stringify(path.resolve('package.json'))}), upload: sees('${INSIDE.upload}/index.js'), writable };
const s = require('net').connect(${port}, '127.0.0.1');
s.on('connect', () => { out.connected = true; console.log(JSON.stringify(out)); process.exit(0); });
s.on('error', (e) => { out.connected = false; out.connectError = e.code; console.log(JSON.stringify(out)); });
`;

describe('the build sandbox', () => {
  it(
    'runs unprivileged and sees only what the build needs',
    {
      skip: process.getuid?.() !== 0 ? 'the build sandbox drops to its uid only when the platform runs as root' : false,
    },
    async () => {
      const tools = findBuildTools(true);
      assert.equal(typeof tools, 'object', String(tools));
      if (typeof tools === 'string') return;
      let connections = 0;
      const listener = net.createServer((c) => {
        connections++;
        c.destroy();
      });
      await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
      try {
        const port = (listener.address() as net.AddressInfo).port;
        const { command, args } = sandboxCommand(tools, workspace, { memoryMb: 512, uid: BUILD_UID_BASE + 99 });
        const at = args.indexOf(INSIDE.worker);
        // The sandbox reads its system-call filter on SECCOMP_FD, as the build worker hands it over.
        const child = spawn(command, [...args.slice(0, at), '-e', probe(port)], {
          stdio: ['ignore', 'pipe', 'pipe', 'ignore', 'pipe'],
        });
        sendFilter(child, SECCOMP_FD);
        let stdout = '';
        let stderr = '';
        child.stdout?.on('data', (c: Buffer) => (stdout += c));
        child.stderr?.on('data', (c: Buffer) => (stderr += c));
        const code = await new Promise((resolve) => child.on('close', resolve));
        assert.equal(code, 0, stderr);
        const seen = JSON.parse(stdout);
        assert.deepEqual(
          { ...seen, connectError: undefined },
          {
            uid: BUILD_UID_BASE + 99,
            capEff: '0000000000000000',
            noNewPrivs: '1',
            nproc: String(BUILD_PROCESSES),
            shadow: false,
            hostFile: false,
            repo: false,
            upload: true,
            writable: false,
            connected: false,
            connectError: undefined,
          },
        );
        assert.equal(connections, 0, 'the host listener was never reached');
      } finally {
        listener.close();
      }
    },
  );
});
