// The process engine around its platform process: a sandbox holds none of
// the descriptors the platform inherited (only its control channel and
// stdio); a platform killed with SIGKILL (no dispose) takes every process of
// its sandboxes with it, detached children included (bubblewrap's
// --die-with-parent and the pid namespace), and the next platform's cleanup
// removes what is left on disk and in the cgroup tree (the run directory,
// the sandboxes' memory and CPU cgroups).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { readdir, readlink, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { it } from 'node:test';
import { ProcessDriver } from '../../src/sandbox/process/driver.ts';
import { processesOf } from '../../src/sandbox/process/jailed-agent.ts';
import { bundledAgent } from '../helpers/agent.ts';
import { createTempDir } from '../helpers/temp.ts';
import { leaksSince, snapshot, STRAY_SLEEP } from '../hostile/leaks.ts';

const dir = await createTempDir('nimbus-process-jail', 0o755);
const SRC = path.resolve(import.meta.dirname, '../../src');

/** A platform stand-in: a driver, one sandbox whose function leaves a detached child, then it waits to be killed. */
const PLATFORM = `
import { ProcessDriver } from '${SRC}/sandbox/process/driver.ts';
const [agentPath, artifactPath, dataDir] = process.argv.slice(2);
const driver = new ProcessDriver({ dataDir, agentPath, log: () => undefined, egress: { allow: [] } });
const sandbox = await driver.create({ id: 'doomed', functionName: 'f', functionVersion: 1, artifactPath, artifactSha256: 'x', memoryMb: 128, cpus: 1, env: {}, network: false, resultLimitBytes: 1e6, logLimitBytes: 1e6 });
const out = await sandbox.invoke({ activationId: 'a1', input: { kind: 'event', event: {} }, timeoutMs: 10000 });
process.stdout.write(JSON.stringify({ value: out.output, details: sandbox.info().details }) + '\\n');
setInterval(() => {}, 1000);
`;

const FUNCTION = `exports.handler = async () => { const cp = require('child_process');
  cp.spawn('sh', ['-c', 'sleep ${STRAY_SLEEP} &'], { detached: true, stdio: 'ignore' }).unref();
  await new Promise((r) => setTimeout(r, 200));
  const fs = require('fs'); const fds = fs.readdirSync('/proc/self/fd').map((fd) => { try { const s = fs.fstatSync(Number(fd)); return s.dev + ':' + s.ino; } catch { return fd; } });
  return { uid: process.getuid(), fds }; };`;

it(
  'holds no descriptor the platform inherited; a platform killed with SIGKILL leaves no sandbox process; the next one removes its run directory and cgroups',
  { timeout: 60_000 },
  async () => {
    const script = path.join(dir, 'platform.mts');
    const artifact = path.join(dir, 'fn.cjs');
    await writeFile(script, PLATFORM);
    await writeFile(artifact, FUNCTION, { mode: 0o444 });
    const host = await snapshot();
    // The platform inherits fd 200 without close-on-exec, as it would a supervisor's log or pipe.
    const marker = path.join(dir, 'inherited-by-the-platform');
    const child = spawn(
      'bash',
      [
        '-c',
        'exec 200>>"$0"; exec "$@"',
        marker,
        process.execPath,
        '--import',
        'tsx',
        script,
        await bundledAgent(),
        artifact,
        dir,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let report: {
      value: { value: { uid: number; fds: string[] } };
      details: { pid: number; uid: number; memoryCgroup?: string; cpuCgroup?: string };
    };
    let inherited: string;
    try {
      assert.ok(child.stdout);
      const [line] = (await once(child.stdout, 'data')) as [Buffer];
      const s = await stat(marker);
      inherited = `${s.dev}:${s.ino}`;
      assert.ok(
        (await readlink(`/proc/${child.pid}/fd/200`)).endsWith('inherited-by-the-platform'),
        'the platform did not inherit the marker',
      );
      report = JSON.parse(line.toString('utf8'));
    } finally {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
    const { uid, fds } = report.value.value;
    assert.equal(report.details.uid, uid);
    const deadline = Date.now() + 5000;
    while ((await processesOf(uid)).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(await processesOf(uid), [], "processes of the dead platform's sandbox still run");
    assert.deepEqual(await leaksSince(host), [], "the function's detached child survived its platform");

    const runDirs = async () =>
      (await readdir(tmpdir())).filter((name) => name.startsWith(`nimbus-process-${child.pid}-`));
    assert.equal((await runDirs()).length, 1, 'the killed platform left its run directory (what cleanup is for)');
    const next = new ProcessDriver({
      dataDir: dir,
      agentPath: await bundledAgent(),
      log: () => undefined,
      egress: { allow: [] },
    });
    try {
      await next.cleanupLeftovers();
      assert.deepEqual(await runDirs(), [], "the dead platform's run directory remains");
      if (typeof report.details.memoryCgroup === 'string' && report.details.memoryCgroup.startsWith('/sys/')) {
        assert.equal(existsSync(report.details.memoryCgroup), false, "the dead platform's sandbox cgroup remains");
      }
      if (typeof report.details.cpuCgroup === 'string' && report.details.cpuCgroup.startsWith('/sys/')) {
        assert.equal(existsSync(report.details.cpuCgroup), false, "the dead platform's sandbox CPU cgroup remains");
      }
    } finally {
      await next.dispose();
    }
    assert.ok(
      !fds.includes(inherited),
      `the sandbox held the file the platform inherited (${inherited}): ${fds.join(', ')}`,
    );
  },
);
