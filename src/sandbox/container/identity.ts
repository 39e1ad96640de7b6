// Who a container's processes are, inside and on the host. Preferred: a user
// namespace (runc 1.1.5 sets it up here, with the cgroup v1 limits), mapping
// container ids 0..65535 to unprivileged host ids from USERNS_HOST_BASE, so
// that even container root is nobody on the host; the function runs as
// container uid 65534 on top of that. runc must reach the root skeleton as the
// mapped root, so every directory above it must be searchable by others (o+x).
// When it is not (a 0700 data directory such as a mkdtemp one), containers run
// without a user namespace as host uid/gid 65534, still with no capabilities,
// no new privileges and the seccomp allowlist; the reason is reported.
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { OciIdMapping } from './oci-spec.ts';

/** First host id of the range container ids map to: far above ordinary users and /etc/subuid ranges. */
export const USERNS_HOST_BASE = 1_300_000_000;
export const USERNS_SIZE = 65_536;
/** The uid and gid functions run as inside the container (nobody). */
export const CONTAINER_UID = 65_534;

export interface ContainerIdentity {
  userNamespace: boolean;
  uidMappings?: OciIdMapping[];
  gidMappings?: OciIdMapping[];
  /** The host uid the function's processes have. */
  hostUid: number;
  reason: string;
}

export async function identityFor(rootfs: string, allowUserNamespace = true): Promise<ContainerIdentity> {
  const blocker = allowUserNamespace
    ? await userNamespaceBlocker(rootfs)
    : 'user namespaces are turned off in the driver options';
  if (blocker) {
    return {
      userNamespace: false,
      hostUid: CONTAINER_UID,
      reason: `no user namespace: ${blocker}; functions run as host uid/gid ${CONTAINER_UID} (nobody), without capabilities`,
    };
  }
  const mapping: OciIdMapping[] = [{ containerID: 0, hostID: USERNS_HOST_BASE, size: USERNS_SIZE }];
  return {
    userNamespace: true,
    uidMappings: mapping,
    gidMappings: mapping,
    hostUid: USERNS_HOST_BASE + CONTAINER_UID,
    reason: `user namespace: container ids 0-${USERNS_SIZE - 1} are host ids ${USERNS_HOST_BASE}-${USERNS_HOST_BASE + USERNS_SIZE - 1}; functions run as container uid ${CONTAINER_UID}`,
  };
}

/** Why a user namespace cannot be used here, or undefined when it can. */
async function userNamespaceBlocker(rootfs: string): Promise<string | undefined> {
  const max = await readFile('/proc/sys/user/max_user_namespaces', 'utf8').catch(() => undefined);
  if (max === undefined || Number(max) === 0) return 'the kernel does not offer user namespaces';
  for (let dir = path.dirname(rootfs); ; dir = path.dirname(dir)) {
    const mode = (await stat(dir)).mode;
    if ((mode & 0o001) === 0) return `${dir} is not searchable by other users (chmod o+x ${dir} to enable it)`;
    if (dir === path.dirname(dir)) return undefined;
  }
}
