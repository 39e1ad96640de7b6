// Doors between the uids of microVMs: every QEMU runs as a uid of its own
// (qemu-args.ts), so a socket one QEMU must reach in another's run directory
// (a live migration's target, the platform taking a saved state) is given to
// that one uid. Run directories are root's and 0711 (passable, not listable);
// a door is a directory in one, root-owned with group <uid> and mode 0710, and
// the socket in it belongs to <uid> alone (0600). No other sandbox uid can pass
// the door, and the guest memory that flows through it stays between the two.
import { chmod, chown, mkdir } from 'node:fs/promises';

/** Makes `dir` a door that only `uid` (and root) may pass. */
export async function openDoor(dir: string, uid: number): Promise<void> {
  await mkdir(dir, { mode: 0o710 });
  await chown(dir, 0, uid);
  await chmod(dir, 0o710);
}

/** Gives the socket at `file` to `uid` alone (connecting to a unix socket needs write permission on it). */
export async function giveSocket(file: string, uid: number): Promise<void> {
  await chown(file, uid, uid);
  await chmod(file, 0o600);
}
