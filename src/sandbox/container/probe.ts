// Whether this host can run the container engine: runc is present and a real
// container (node, under the same mounts, limits and seccomp allowlist as a
// function) runs to completion, timed. Also says whether crun is present and
// works (on hybrid cgroup hosts it refuses: "cgroups in hybrid mode not supported").
import { spawn } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { DriverAvailability } from '../driver.ts';
import type { OciConfig } from './oci-spec.ts';
import { findBinary } from './runc.ts';

const PROBE_TIMEOUT_MS = 20_000;

export interface ProbeTarget {
  /** A complete config for a trivial container, written into a throwaway bundle. */
  config: (taskDir: string) => OciConfig;
  containersDir: string;
  dataDir: string;
  runcBinary: string | undefined;
}

interface RunResult {
  ok: boolean;
  ms: number;
  output: string;
}

/** Runs one container in the foreground (`<runtime> run`, which deletes it afterwards). */
function runOnce(binary: string, root: string, bundle: string, id: string): Promise<RunResult> {
  const started = performance.now();
  const child = spawn(binary, ['--root', root, 'run', '--bundle', bundle, id], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const collect = (c: Buffer) => (output = (output + c.toString('utf8')).slice(-2000));
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const timer = setTimeout(() => child.kill('SIGKILL'), PROBE_TIMEOUT_MS);
  return new Promise((resolve) => {
    child.on('error', (e) => resolve({ ok: false, ms: 0, output: e.message }));
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ ok: code === 0, ms: Math.round(performance.now() - started), output: output.trim() });
    });
  });
}

async function withBundle<T>(
  target: ProbeTarget,
  name: string,
  use: (bundle: string, id: string) => Promise<T>,
): Promise<T> {
  const bundle = path.join(target.containersDir, `probe-${name}-${process.pid}-${Date.now()}`);
  const taskDir = path.join(bundle, 'task');
  await mkdir(taskDir, { recursive: true, mode: 0o711 });
  try {
    await writeFile(path.join(bundle, 'config.json'), JSON.stringify(target.config(taskDir)));
    return await use(bundle, `nimbus-${path.basename(bundle)}`);
  } finally {
    await rm(bundle, { recursive: true, force: true });
  }
}

export async function probeRuntimes(target: ProbeTarget): Promise<DriverAvailability> {
  const crunBinary = await findBinary('crun');
  const crun = crunBinary
    ? await withBundle(target, 'crun', (bundle, id) =>
        runOnce(crunBinary, path.join(target.dataDir, 'crun'), bundle, id),
      ).then((r) => ({
        present: true,
        binary: crunBinary,
        works: r.ok,
        ...(r.ok ? { runMs: r.ms } : { error: r.output }),
      }))
    : { present: false };
  if (!target.runcBinary) {
    return {
      available: false,
      reason: 'runc is not installed (Debian: apt-get install runc; scripts/setup.sh does it)',
      details: { crun },
    };
  }
  const runcBinary = target.runcBinary;
  const run = await withBundle(target, 'runc', (bundle, id) =>
    runOnce(runcBinary, path.join(target.dataDir, 'runc'), bundle, id),
  );
  const details = { runtime: 'runc', binary: runcBinary, trivialRunMs: run.ms, crun };
  if (!run.ok)
    return {
      available: false,
      reason: `runc is installed but a container does not run here: ${run.output || 'no output'}`,
      details,
    };
  return { available: true, reason: `runc ran a node container in ${run.ms} ms`, details };
}
