// Types for the part of the OCI runtime specification (config.json, version
// 1.0.2, the one runc 1.1 implements) that the container engine writes. Only
// the fields nimbus sets are declared; names and units follow the spec.

export interface OciConfig {
  ociVersion: '1.0.2';
  process: OciProcess;
  root: { path: string; readonly: boolean };
  hostname: string;
  mounts: OciMount[];
  linux: OciLinux;
}

export interface OciProcess {
  terminal: false;
  user: { uid: number; gid: number; additionalGids?: number[] };
  args: string[];
  env: string[];
  cwd: string;
  noNewPrivileges: boolean;
  capabilities: Record<'bounding' | 'effective' | 'permitted' | 'inheritable' | 'ambient', string[]>;
  rlimits: { type: `RLIMIT_${string}`; soft: number; hard: number }[];
  oomScoreAdj?: number;
}

export interface OciMount {
  destination: string;
  type: 'bind' | 'proc' | 'tmpfs';
  source: string;
  options?: string[];
}

export type OciNamespaceType = 'pid' | 'network' | 'mount' | 'ipc' | 'uts' | 'user' | 'cgroup';

export interface OciIdMapping {
  containerID: number;
  hostID: number;
  size: number;
}

export interface OciResources {
  memory?: { limit: number; swap: number };
  cpu?: { quota: number; period: number };
  pids?: { limit: number };
  devices?: { allow: boolean; access?: string }[];
}

export interface OciLinux {
  namespaces: { type: OciNamespaceType; path?: string }[];
  uidMappings?: OciIdMapping[];
  gidMappings?: OciIdMapping[];
  cgroupsPath: string;
  resources: OciResources;
  seccomp: OciSeccomp;
  maskedPaths: string[];
  readonlyPaths: string[];
  rootfsPropagation?: 'private' | 'rprivate' | 'slave' | 'rslave';
}

export type SeccompAction = 'SCMP_ACT_ALLOW' | 'SCMP_ACT_ERRNO' | 'SCMP_ACT_KILL_PROCESS';

export interface OciSeccompArg {
  index: number;
  value: number;
  valueTwo?: number;
  op: 'SCMP_CMP_EQ' | 'SCMP_CMP_NE' | 'SCMP_CMP_MASKED_EQ';
}

export interface OciSeccompRule {
  names: string[];
  action: SeccompAction;
  errnoRet?: number;
  args?: OciSeccompArg[];
}

export interface OciSeccomp {
  defaultAction: SeccompAction;
  defaultErrnoRet?: number;
  architectures: string[];
  syscalls: OciSeccompRule[];
}
