// The process engine's CPU wall (issue 13, probe): a function that starts
// detached busy loops and returns must not take more of the host's cores
// than its sandbox's `cpus`, during the call or after it. Without a CPU
// cgroup, two such loops ran on both cores of the host until the sandbox was
// removed. Measured from outside: the CPU time every process of the
// sandbox's uid gets over a few seconds (/proc/<pid>/stat). A tenth of a CPU,
// so that unconfined loops stand out even on a busy shared machine (at a load
// of 10 on 2 cores they still got 0.4 CPU).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { it } from 'node:test';
import { ProcessDriver } from '../../src/sandbox/process/driver.ts';
import { processesOf } from '../../src/sandbox/process/jailed-agent.ts';
import { bundledAgent } from '../helpers/agent.ts';
import { createTempDir } from '../helpers/temp.ts';

const CPUS = 0.1;
const WINDOW_MS = 3000;
const TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

const FUNCTION = `exports.handler = async () => { const cp = require('child_process');
  for (let i = 0; i < 2; i++) cp.spawn('sh', ['-c', 'while :; do :; done'], { detached: true, stdio: 'ignore' }).unref();
  return { uid: process.getuid() }; };`;

/** CPU time (user + system, seconds) of every live process of `uid`. */
async function cpuSeconds(uid: number): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  for (const pid of await processesOf(uid)) {
    const stat = await readFile(`/proc/${pid}/stat`, 'latin1').catch(() => '');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields.length > 12) out.set(pid, (Number(fields[11]) + Number(fields[12])) / TICKS);
  }
  return out;
}

it(
  `holds detached busy loops to the sandbox's cpus (${CPUS})`,
  { skip: process.getuid?.() !== 0 && 'the process engine needs root', timeout: 60_000 },
  async () => {
    const dir = await createTempDir('nimbus-process-cpu', 0o755);
    const artifact = path.join(dir, 'fn.cjs');
    await writeFile(artifact, FUNCTION, { mode: 0o444 });
    const driver = new ProcessDriver({
      dataDir: dir,
      agentPath: await bundledAgent(),
      log: () => undefined,
      egress: { allow: [] },
    });
    try {
      const available = await driver.probe();
      assert.ok(available.available, available.reason);
      const sandbox = await driver.create({
        id: 'busy',
        functionName: 'busy',
        functionVersion: 1,
        artifactPath: artifact,
        artifactSha256: 'x',
        memoryMb: 128,
        cpus: CPUS,
        env: {},
        network: false,
        resultLimitBytes: 1e6,
        logLimitBytes: 1e6,
      });
      const out = await sandbox.invoke({ activationId: 'a1', input: { kind: 'event', event: {} }, timeoutMs: 10_000 });
      assert.ok(out.ok, JSON.stringify(out.error));
      const { uid } = (out.output as { value: { uid: number } }).value;
      const cgroup = sandbox.info().details.cpuCgroup;
      assert.equal(
        typeof cgroup === 'string' && existsSync(cgroup),
        true,
        `the sandbox has no CPU cgroup: ${String(cgroup)}`,
      );
      await new Promise((r) => setTimeout(r, 300)); // the call has returned; the loops keep running
      const start = await cpuSeconds(uid);
      const startedAt = performance.now();
      await new Promise((r) => setTimeout(r, WINDOW_MS));
      const end = await cpuSeconds(uid);
      const seconds = (performance.now() - startedAt) / 1000;
      let used = 0;
      for (const [pid, t] of end) used += t - (start.get(pid) ?? t);
      const cpus = used / seconds;
      assert.ok(cpus > 0.02, `the busy loops did not run (${cpus.toFixed(2)} CPUs): the test measures nothing`);
      assert.ok(
        cpus <= CPUS * 1.5,
        `the sandbox's processes used ${cpus.toFixed(2)} CPUs over ${seconds.toFixed(1)} s; its function has ${CPUS}`,
      );
      await sandbox.dispose();
      assert.deepEqual(await processesOf(uid), [], 'the busy loops outlived their sandbox');
      assert.equal(existsSync(cgroup as string), false, 'the CPU cgroup outlived its sandbox');
    } finally {
      await driver.dispose();
    }
  },
);
