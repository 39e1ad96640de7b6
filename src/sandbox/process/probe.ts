// Whether this host can run the process engine's wall: a real, tiny sandbox
// (bubblewrap as a sandbox uid, every namespace, the read-only system view)
// that must report the uid it runs as. Its failure text names the cause
// (user namespaces off, a Node install directory the sandbox uid cannot reach).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { DriverAvailability } from '../driver.ts';
import { jailCommand, SANDBOX_TASKS, SANDBOX_TMP_BYTES } from './jail.ts';
import { releaseSandboxId, takeSandboxId } from './identities.ts';
import type { JailTools } from './jailed-agent.ts';
import { SandboxCpuCgroup } from './cpu-cgroup.ts';
import { SandboxMemoryCgroup } from './memory-cgroup.ts';
import type { RunDir } from './run-dir.ts';

const run = promisify(execFile);

export async function probeJail(tools: JailTools, runDir: RunDir): Promise<DriverAvailability> {
  const id = takeSandboxId();
  const started = performance.now();
  let cgroup: SandboxMemoryCgroup | string = 'not made';
  let cpu: SandboxCpuCgroup | string = 'not made';
  try {
    const slotDir = await runDir.openSlot(id);
    cgroup = await SandboxMemoryCgroup.create(id, 256);
    cpu = await SandboxCpuCgroup.create(id, 1);
    const cgroupProcs = typeof cgroup === 'string' ? undefined : cgroup.procsFile;
    const cpuCgroupProcs = typeof cpu === 'string' ? undefined : cpu.procsFile;
    const command = [process.execPath, '-e', 'process.stdout.write(String(process.getuid()))'];
    const jail = jailCommand({
      ...tools,
      id,
      slotDir,
      agent: runDir.agent,
      heapMb: 64,
      command,
      cgroupProcs,
      cpuCgroupProcs,
    });
    const { stdout } = await run(jail.command, jail.args, { timeout: 15_000, env: { PATH: '/usr/bin:/bin' } });
    if (stdout.trim() !== String(id))
      return { available: false, reason: `a test sandbox ran as uid ${stdout.trim()}, not its own uid ${id}` };
    const { stdout: version } = await run(tools.bwrap, ['--version'], { timeout: 5000 });
    const memory =
      typeof cgroup === 'string'
        ? `${cgroup}: memory bounded by the V8 heap cap and the RSS watchdog alone`
        : 'a memory cgroup of its own';
    const cpuQuota = typeof cpu === 'string' ? `${cpu}: no CPU quota` : "a CPU quota of its function's cpus";
    return {
      available: true,
      reason: `${version.trim()}: each sandbox runs ${process.execPath} (${process.version}) as its own unprivileged uid in its own user, pid, mount, ipc, uts and network namespaces, with a read-only system view, a ${SANDBOX_TMP_BYTES >> 20} MB /tmp, at most ${SANDBOX_TASKS} processes and threads, ${memory} and ${cpuQuota}; it shares the host's kernel`,
      details: { testSandboxMs: Math.round(performance.now() - started) },
    };
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    return {
      available: false,
      reason: `a test sandbox failed to start under bubblewrap: ${(err.stderr || err.message).trim().slice(0, 500)}`,
    };
  } finally {
    if (typeof cgroup !== 'string') await cgroup.remove();
    if (typeof cpu !== 'string') await cpu.remove();
    await runDir.closeSlot(id).catch(() => undefined);
    releaseSandboxId(id);
  }
}
