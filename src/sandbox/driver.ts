// The sandbox driver contract: every engine (process, isolate, container,
// microvm) implements SandboxDriver, and its sandboxes implement Sandbox. The
// VM operations beyond create and delete (snapshot, migrate, resize) are
// optional capabilities that a driver declares, with a reason when it lacks one.
import type { InvokeInput, InvokeOutput, GuestError, LiveLine } from '../guest/protocol.ts';
import type { KvAnswer, KvRequest } from '../guest/kv-protocol.ts';

export const ENGINE_KINDS = ['process', 'isolate', 'container', 'microvm'] as const;
export type EngineKind = (typeof ENGINE_KINDS)[number];

export interface SandboxSpec {
  id: string;
  functionName: string;
  functionVersion: number;
  /** Bundled function code on the host's disk (content-addressed). */
  artifactPath: string;
  artifactSha256: string;
  handler?: string;
  memoryMb: number;
  cpus: number;
  env: Record<string, string>;
  network: boolean;
  resultLimitBytes: number;
  logLimitBytes: number;
  /** The function's KV store, bound by the invoker to this function: the guest never names a store. */
  state?: StatePort;
}

/** Answers a sandbox's KV operations (src/state/); never rejects: a refusal is an answer with `error`. */
export interface StatePort {
  call(request: KvRequest): Promise<KvAnswer>;
}

export interface InvokeCall {
  activationId: string;
  input: InvokeInput;
  timeoutMs: number;
  /** Hears the call's log lines while it runs (live logs); ts clamped to the call's time on the host's clock. */
  onLog?: (lines: LiveLine[]) => void;
}

export interface InvokeOutcome {
  ok: boolean;
  output?: InvokeOutput;
  /** On failure: code is an ErrorCode (function_error, timeout, memory_exhausted, ...). */
  error?: GuestError;
  logs: string;
  logsTruncated: boolean;
  runMs: number;
  /** Peak memory seen during the call, in MB, when the engine can tell. */
  maxMemoryMb?: number;
}

export type SandboxState = 'ready' | 'dead';

/**
 * A sandbox saved to disk and stopped after its keep-alive ("standby", scale to
 * zero with state): it holds no memory or CPU, and resume() starts it again
 * with its module state intact. Only the microvm engine offers it (its whole
 * machine state is saved with QEMU's migration stream); a container would need
 * CRIU (not available here, see docs/architecture.md), and process and isolate
 * sandboxes are discarded as before.
 */
export interface StandbySandbox {
  readonly id: string;
  readonly spec: SandboxSpec;
  /** Disk its saved state takes, bytes. */
  readonly diskBytes: number;
  /** When it went to standby (ISO time). */
  readonly since: string;
  /** When the sandbox was first created (ISO time): a resume keeps its identity. */
  readonly createdAt: string;
  /** Starts it again from its saved state, which is then deleted. */
  resume(): Promise<Sandbox>;
  /** Deletes its saved state. */
  discard(): Promise<void>;
}

export interface SandboxInfo {
  id: string;
  engine: EngineKind;
  functionName: string;
  functionVersion: number;
  state: SandboxState;
  memoryMb: number;
  cpus: number;
  createdAt: string;
  /** Engine-specific facts: pid, container id, accelerator, and why. */
  details: Record<string, unknown>;
}

export interface ResizeRequest {
  memoryMb?: number;
  cpus?: number;
}
export interface ResizeReport {
  before: { memoryMb: number; cpus: number };
  after: { memoryMb: number; cpus: number };
  details?: Record<string, unknown>;
}

/** Where to move a running sandbox (live migration). */
export interface MigrateRequest {
  /** The invoker or host to move to; engines that move only within this host ignore it. */
  target?: string;
}
export interface MigrationReport {
  /** From the request to the sandbox answering again, in its new place, ms. */
  totalMs: number;
  /** How long the sandbox was paused, ms, when the engine can tell. */
  downtimeMs?: number;
  details?: Record<string, unknown>;
}

export interface Sandbox {
  readonly id: string;
  readonly engine: EngineKind;
  readonly spec: SandboxSpec;
  readonly state: SandboxState;
  info(): SandboxInfo;
  /**
   * Runs one call. Resolves with the outcome for every fault of the function
   * (error, timeout, crash, memory); after a timeout, crash or memory fault the
   * sandbox is dead and must not be reused. Rejects only for platform faults.
   */
  invoke(call: InvokeCall): Promise<InvokeOutcome>;
  /** Current memory use in MB, if the engine can measure it. */
  memoryUsageMb(): Promise<number | undefined>;
  /** Called once when the sandbox dies for any reason (including dispose). */
  onDeath(listener: (reason: string) => void): void;
  dispose(): Promise<void>;
  resize?(request: ResizeRequest): Promise<ResizeReport>;
  /** Moves the running sandbox, memory and module state included, to another hypervisor process or host. */
  migrate?(request?: MigrateRequest): Promise<MigrationReport>;
  /** Saves the idle sandbox to disk and stops it (see StandbySandbox); the sandbox is dead afterwards. */
  standby?(): Promise<StandbySandbox>;
}

/** What a driver can do beyond create/invoke/dispose: true, or the reason it cannot. */
export interface DriverCapabilities {
  resize: true | string;
  snapshot: true | string;
  migrate: true | string;
  /** Whether this engine can stop a function from reading the host's files. */
  filesystemIsolation: true | string;
  /** Whether this engine can keep a function off the network. */
  networkIsolation: true | string;
  /** Whether one sandbox runs several calls at once; when false the invoker sends each sandbox one call at a time. */
  concurrentCalls: boolean;
}

export interface DriverAvailability {
  available: boolean;
  reason: string;
  details?: Record<string, unknown>;
}

export interface SandboxDriver {
  readonly kind: EngineKind;
  readonly capabilities: DriverCapabilities;
  /** Whether this host can run the engine, and why (not). */
  probe(): Promise<DriverAvailability>;
  /** Starts a sandbox and loads the function; resolves when it is ready to invoke. */
  create(spec: SandboxSpec): Promise<Sandbox>;
  /** Removes whatever a previous, killed platform left behind. */
  cleanupLeftovers?(): Promise<void>;
  /** The function was deleted: removes what the driver keeps for it on disk (microvm: its function snapshots and standby states). */
  forgetFunction?(functionName: string): Promise<void>;
  dispose(): Promise<void>;
}

/**
 * Where a sandbox with `network: true` may connect: the public internet, plus
 * the CIDRs the operator allows. Every engine enforces it outside the function
 * (src/sandbox/network/), on the address actually connected.
 */
export interface EgressPolicy {
  /** CIDRs allowed although private, loopback or link-local (operator's choice). */
  allow: readonly string[];
}

/** Options every driver factory receives. */
export interface DriverContext {
  /** The egress policy for sandboxes with network. */
  egress: EgressPolicy;
  /** Platform data directory (.nimbus). */
  dataDir: string;
  /** microvm: disk the function snapshots may take, MB (options.ts microvmSnapshotCapMb). */
  microvmSnapshotCapMb?: number;
  /** microvm: restore cold starts from function snapshots (options.ts microvmFunctionSnapshots; default true). */
  microvmFunctionSnapshots?: boolean;
  /** Path of the bundled guest runtime agent (JavaScript). */
  agentPath: string;
  log: (level: 'debug' | 'info' | 'warn' | 'error', msg: string, extra?: Record<string, unknown>) => void;
}
