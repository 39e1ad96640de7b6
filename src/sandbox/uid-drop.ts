// How a bubblewrap sandbox started by root becomes an unprivileged uid: root
// runs bubblewrap (so that it can bind what the sandbox needs wherever the
// project and its data directory live, even under a 0700 home), keeping only
// the capabilities to change uid, and setpriv inside drops to the sandbox's
// own uid with no capabilities and no new privileges before the sandbox's
// program starts. bubblewrap run by root with a user namespace of its own
// would map root to host uid 0, which may still write host-wide settings such
// as /proc/sys/kernel/core_pattern; started as the uid itself it could not
// reach files under a private directory.
import { existsSync } from 'node:fs';
import path from 'node:path';

/** The capabilities bubblewrap keeps for setpriv (everything else is dropped). */
export const UID_DROP_CAPS = [
  '--cap-drop',
  'ALL',
  '--cap-add',
  'CAP_SETUID',
  '--cap-add',
  'CAP_SETGID',
  '--cap-add',
  'CAP_SETPCAP',
];

/** The command words that run the rest of a bubblewrap command line as `uid` (and gid), with nothing else. */
export function dropToUid(setpriv: string, uid: number): string[] {
  return [
    setpriv,
    '--reuid',
    String(uid),
    '--regid',
    String(uid),
    '--clear-groups',
    '--no-new-privs',
    '--inh-caps=-all',
    '--bounding-set=-all',
    '--',
  ];
}

/** setpriv's path (util-linux), or undefined where it is not installed. */
export function findSetpriv(): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/bin', '/bin', '/usr/sbin', '/sbin'];
  return dirs.map((d) => path.join(d, 'setpriv')).find((p) => existsSync(p));
}
