// Platform options: every option with its default, validated once at start
// into a compiled config that the rest of nimbus reads (never raw input).
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { ENGINE_KINDS } from '../sandbox/driver.ts';
import { cidrProblem } from '../sandbox/network/cidr.ts';

const MB = 1024 * 1024;

export const FunctionDefaults = z.object({
  /**
   * Engine for functions that do not name one.
   * @default 'process'
   */
  engine: z.enum(ENGINE_KINDS).default('process'),
  /**
   * Memory per sandbox, MB.
   * @default 256
   */
  memoryMb: z.number().int().min(128).max(8192).default(256),
  /**
   * Time an invocation may run, ms.
   * @default 30000
   */
  timeoutMs: z.number().int().min(100).max(900_000).default(30_000),
  /**
   * Invocations one sandbox runs at once.
   * @default 1
   */
  concurrency: z.number().int().min(1).max(1000).default(1),
  /**
   * Invocations one isolate runs at once, for isolate functions that do not say. Many, as
   * Workers serves many requests in one isolate: the calls share its heap and memory limit,
   * and a call that ends it (timeout, out of memory) fails the others running in it.
   * One call per process, container or microVM keeps those engines' default at `concurrency`.
   * @default 16
   */
  isolateConcurrency: z.number().int().min(1).max(1000).default(16),
  /**
   * Most sandboxes one function may have.
   * @default 10
   */
  maxSandboxes: z.number().int().min(1).max(1000).default(10),
});

export const NimbusOptions = z.object({
  /**
   * Address to listen on; anything but loopback requires the API key.
   * @default '127.0.0.1'
   */
  host: z.string().default('127.0.0.1'),
  /**
   * Port of the management API (`/v1`); 0 takes any free port.
   * @default 8080
   */
  port: z.number().int().min(0).max(65535).default(8080),
  /**
   * Where the SQLite file, artifacts, keys and images live (resolved against the working directory).
   * @default '.nimbus'
   */
  dataDir: z.string().default('.nimbus'),
  /**
   * Largest request body, bytes (413 above).
   * @default 6291456 (6 MB)
   */
  bodyLimitBytes: z
    .number()
    .int()
    .min(1024)
    .default(6 * MB),
  /**
   * Largest deployable archive once unpacked, bytes (zip-bomb guard).
   * @default 262144000 (250 MB)
   */
  unpackedLimitBytes: z
    .number()
    .int()
    .min(1024)
    .default(250 * MB),
  /**
   * Most files in a deployable archive.
   * @default 20000
   */
  archiveFileLimit: z.number().int().min(1).default(20_000),
  /**
   * Longest a deploy's build (bundling with esbuild, in its sandbox) may take, ms.
   * @default 30000
   */
  buildTimeoutMs: z.number().int().min(100).default(30_000),
  /**
   * Memory a deploy's build may use, MB (Node and esbuild together, a memory cgroup).
   * @default 1536 (esbuild bundling a 9 MB library peaks near 240 MB)
   */
  buildMemoryMb: z.number().int().min(128).default(1536),
  /**
   * Largest function result, bytes (an error above, never silent truncation).
   * @default 6291456 (6 MB)
   */
  resultLimitBytes: z
    .number()
    .int()
    .min(1024)
    .default(6 * MB),
  /**
   * Largest log kept per activation, bytes (truncated with a marker above).
   * @default 1048576 (1 MB)
   */
  logLimitBytes: z
    .number()
    .int()
    .min(1024)
    .default(1 * MB),
  /**
   * Idle time before a warm sandbox is disposed, ms.
   * @default 600000 (10 minutes)
   */
  keepAliveMs: z.number().int().min(100).default(600_000),
  /**
   * Scale to zero with state: an idle sandbox past its keep-alive is saved to disk and stopped
   * instead of disposed, where its engine can (microvm), and the next call resumes it with its
   * module state. On by default: a microVM's cold start costs seconds under binary translation and
   * its standby costs only disk (about its guest's touched RAM) until the function is called or deleted.
   * @default true
   */
  standby: z.boolean().default(true),
  /**
   * Disk the microvm function snapshots may take, MB; past it the least recently restored go.
   * The standby states have a cap of the same size of their own: past it an idle sandbox is disposed.
   * @default 4096
   */
  microvmSnapshotCapMb: z.number().int().min(64).default(4096),
  /**
   * Restore microVM cold starts from function snapshots (the VM saved after the function's init).
   * Random sources are reseeded on each restore; values drawn during init are shared (SECURITY.md).
   * @default true
   */
  microvmFunctionSnapshots: z.boolean().default(true),
  /**
   * The learned keep-alive's histogram bin (src/engine/keepalive/), ms: its
   * idle times are counted in 240 bins of this width. A minute, as in Shahrad
   * et al.; shorter only to replay a time-compressed trace (bench/trace.bench.ts).
   * @default 60000
   */
  keepAliveBinMs: z.number().int().min(10).default(60_000),
  /**
   * The autoscaler's stable window (src/engine/autoscale/): sandboxes above one are removed once the concurrency averaged over it falls, ms.
   * @default 60000
   */
  autoscaleStableWindowMs: z.number().int().min(100).default(60_000),
  /**
   * The autoscaler's panic window: a rise over it to twice the sandboxes a pool holds scales up at once and stops scale-down, ms.
   * @default 6000
   */
  autoscalePanicWindowMs: z.number().int().min(10).default(6_000),
  /**
   * How often each pool applies the autoscaler's decision, ms.
   * @default 2000
   */
  autoscaleIntervalMs: z.number().int().min(10).default(2_000),
  /**
   * Invocations that may wait for a busy function before 429, per function.
   * @default 100
   */
  waitQueueLimit: z.number().int().min(0).default(100),
  /**
   * Retries of a failed async invocation before dead_letter.
   * @default 2
   */
  asyncRetries: z.number().int().min(0).max(20).default(2),
  /**
   * First retry delay, ms; doubles each retry.
   * @default 1000
   */
  asyncRetryBaseMs: z.number().int().min(0).default(1000),
  /**
   * Activation records (with their logs and result) older than this are deleted
   * in the background, ms; 0 keeps them regardless of age. Queued and running
   * ones never are.
   * @default 604800000 (7 days)
   */
  activationRetentionMs: z
    .number()
    .int()
    .min(0)
    .default(7 * 24 * 3600 * 1000),
  /**
   * Per function, finished activation records beyond the newest this many are
   * deleted in the background; 0: no count limit. Dead letters go by age only.
   * @default 10000 (a day of a call every 9 s, or the last 3 hours at one a second: the recent past one debugs from; at most ~10 GB a function whose every call logs the 1 MB limit, ~20 MB with small logs)
   */
  activationRetentionPerFunction: z.number().int().min(0).default(10_000),
  /**
   * How often the store is swept for activation records past retention, ms.
   * @default 60000
   */
  activationSweepIntervalMs: z.number().int().min(100).default(60_000),
  /**
   * Message bus: "memory" (embedded) or a nats:// URL.
   * @default 'memory'
   */
  bus: z.string().default('memory'),
  /**
   * Store: "sqlite" (embedded, in dataDir) or a postgres:// URL.
   * @default 'sqlite'
   */
  store: z.string().default('sqlite'),
  /**
   * This process's invoker name (unique in a cluster): 1-64 letters, digits, _ or -.
   * @default 'local' (`nimbus invoker` names itself after the host and its process id)
   */
  invokerId: z
    .string()
    .regex(/^[a-zA-Z0-9_-]{1,64}$/)
    .default('local'),
  /**
   * Where functions with `network: true` may connect beyond the public internet:
   * CIDRs (IPv4 or IPv6) an operator allows, such as "10.1.0.0/16". Loopback, the
   * host's own addresses, link-local and private ranges are refused otherwise.
   * @default [] (the public internet only)
   */
  egressAllow: z
    .array(
      z.string().refine((c) => cidrProblem(c) === undefined, {
        error: (i) =>
          `${JSON.stringify(i.input)} is not a CIDR (${cidrProblem(String(i.input))}); write e.g. 10.1.0.0/16`,
      }),
    )
    .default([]),
  /**
   * Port of the function origin (`/fn/:name/*`), kept apart from the management
   * API so that a function's answer can never speak for the API's origin.
   * @default port + 1; any free port when port is 0
   */
  functionsPort: z.number().int().min(0).max(65535).optional(),
  /**
   * Most sandboxes this invoker runs at once, every function and engine together.
   * @default one per 64 MB of the machine's memory, at most 1000
   */
  maxSandboxesTotal: z.number().int().min(1).optional(),
  /**
   * Most memory (MB) the sandboxes of this invoker may be given together.
   * @default three quarters of the machine's memory
   */
  sandboxMemoryTotalMb: z.number().int().min(128).optional(),
  /**
   * API key clients must send, 16 characters or more.
   * @default none on a loopback host (unless requireKey); beyond it, the data dir's api-key file, generated on first start
   */
  apiKey: z.string().min(16).optional(),
  /**
   * Require a key on loopback too: without it, a request on loopback without any key
   * acts as root (a developer machine). With it, the root key is made as beyond loopback.
   * @default false
   */
  requireKey: z.boolean().default(false),
  /**
   * Cost report (src/reports/): serverless price per GB-second, USD (AWS Lambda x86 list price).
   * @default 0.0000166667
   */
  costGbSecondUsd: z.number().min(0).max(1).default(0.0000166667),
  /**
   * Cost report: serverless price per million requests, USD (AWS Lambda list price).
   * @default 0.2
   */
  costPerMillionRequestsUsd: z.number().min(0).max(1000).default(0.2),
  /**
   * Cost report: one always-on VM's price per hour, USD (AWS c5.large, 2 vCPU / 4 GiB, on-demand Linux, us-east-1).
   * @default 0.085
   */
  costVmHourUsd: z.number().min(0).max(1000).default(0.085),
  /**
   * Cost report: vCPUs of one VM; each runs one call at a time.
   * @default 2
   */
  costVmVcpus: z.number().int().min(1).max(1024).default(2),
  /**
   * Cost report: memory of one VM, MB.
   * @default 4096
   */
  costVmMemoryMb: z.number().int().min(128).max(16_777_216).default(4096),
  /**
   * Defaults for functions whose deploy does not say (see FunctionDefaults).
   * @default FunctionDefaults' own defaults
   */
  defaults: FunctionDefaults.default(FunctionDefaults.parse({})),
});

export type NimbusOptions = z.input<typeof NimbusOptions>;

/**
 * Every option's default, read from the schema above: the one source the CLI's
 * flags, its --help and the client's default URL take them from. The options
 * computed at start (functionsPort, maxSandboxesTotal, sandboxMemoryTotalMb) and
 * apiKey have none here; COMPUTED_DEFAULTS says in words how they are found.
 */
export const DEFAULTS = deepFreeze(NimbusOptions.parse({}));

/** How resolveConfig finds the defaults it computes, in words for --help and docs (the same as their @default). */
export const COMPUTED_DEFAULTS = Object.freeze({
  functionsPort: 'port + 1; any free port when port is 0',
  maxSandboxesTotal: "one per 64 MB of the machine's memory, at most 1000",
  sandboxMemoryTotalMb: "three quarters of the machine's memory",
  apiKey:
    "none on a loopback host (unless requireKey); beyond it, the data dir's api-key file, generated on first start",
} satisfies Partial<Record<keyof NimbusOptions, string>>);

/** The log levels a platform process takes (pino's). */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/**
 * Level a `nimbus serve` or `nimbus invoker` process logs at (--log-level, NIMBUS_LOG_LEVEL).
 * @default 'info' (a platform started from code, as the tests do, logs at 'warn' unless NIMBUS_LOG_LEVEL says otherwise)
 */
export const PROCESS_LOG_LEVEL: (typeof LOG_LEVELS)[number] = 'info';

function deepFreeze<T extends object>(value: T): Readonly<T> {
  for (const child of Object.values(value))
    if (typeof child === 'object' && child !== null) deepFreeze(child as object);
  return Object.freeze(value);
}
export type NimbusConfig = Omit<
  z.output<typeof NimbusOptions>,
  'functionsPort' | 'maxSandboxesTotal' | 'sandboxMemoryTotalMb'
> & {
  dataDir: string;
  functionsPort: number;
  maxSandboxesTotal: number;
  sandboxMemoryTotalMb: number;
};

export function resolveConfig(input: NimbusOptions = {}): NimbusConfig {
  const parsed = NimbusOptions.safeParse(input);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || 'options'}: ${i.message}`).join('; ');
    throw new Error(`invalid nimbus options: ${issues}`);
  }
  const d = parsed.data;
  const totalMb = Math.floor(os.totalmem() / MB);
  return {
    ...d,
    dataDir: path.resolve(d.dataDir),
    functionsPort: d.functionsPort ?? (d.port === 0 ? 0 : d.port + 1),
    maxSandboxesTotal: d.maxSandboxesTotal ?? Math.max(1, Math.min(1000, Math.floor(totalMb / 64))),
    sandboxMemoryTotalMb: d.sandboxMemoryTotalMb ?? Math.max(128, Math.floor(totalMb * 0.75)),
  };
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}
