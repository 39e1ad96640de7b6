// The host programs the process engine runs, and whether this host can run
// it: bash (the first step: descriptors, cgroup), bubblewrap (the wall),
// setpriv (the sandbox's uid), prlimit (its per-uid process limit) and
// nsenter (joining an egress namespace), found on the PATH or in the system
// dirs.
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { JailTools } from './jailed-agent.ts';

function findTool(name: string): string | undefined {
  const dirs = [
    ...(process.env.PATH ?? '').split(':').filter(Boolean),
    '/usr/bin',
    '/usr/sbin',
    '/bin',
    '/sbin',
    '/usr/local/bin',
  ];
  return dirs.map((d) => path.join(d, name)).find((p) => existsSync(p));
}

/** The tools, or why the engine cannot run here (what to install). */
export function findJailTools(): JailTools | string {
  const bwrap = findTool('bwrap');
  const prlimit = findTool('prlimit');
  const nsenter = findTool('nsenter');
  const setpriv = findTool('setpriv');
  const bash = findTool('bash');
  const missing = [
    !bwrap && 'bwrap (Debian package bubblewrap)',
    !prlimit && 'prlimit (util-linux)',
    !nsenter && 'nsenter (util-linux)',
    !setpriv && 'setpriv (util-linux)',
    !bash && 'bash',
  ].filter(Boolean);
  if (missing.length || !bwrap || !prlimit || !nsenter || !setpriv || !bash)
    return `missing ${missing.join(', ')}: install it (npm start does, as root)`;
  if (process.getuid?.() !== 0) {
    return 'the platform does not run as root, and only root can start each sandbox as its own unprivileged uid; run nimbus as root (setup does) or choose another engine';
  }
  return { bwrap, prlimit, nsenter, setpriv, bash };
}
