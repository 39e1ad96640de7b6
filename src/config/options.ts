// Platform options: every option with its default, validated once at start
// into a compiled config that the rest of nimbus reads (never raw input).
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { ENGINE_KINDS } from '../sandbox/driver.ts';
import { cidrProblem } from '../sandbox/network/cidr.ts';

const MB = 1024 * 1024;

export const FunctionDefaults = z.object({
  /** Engine for functions that do not name one. */
  engine: z.enum(ENGINE_KINDS).default('process'),
  /** Memory per sandbox, MB. */
  memoryMb: z.number().int().min(128).max(8192).default(256),
  /** Time an invocation may run, ms. */
  timeoutMs: z.number().int().min(100).max(900_000).default(30_000),
  /** Invocations one sandbox runs at once. */
  concurrency: z.number().int().min(1).max(1000).default(1),
  /** Most sandboxes one function may have. */
  maxSandboxes: z.number().int().min(1).max(1000).default(10),
});

export const NimbusOptions = z.object({
  /** Address to listen on; anything but loopback requires the API key. */
  host: z.string().default('127.0.0.1'),
  port: z.number().int().min(0).max(65535).default(8080),
  /** Where the SQLite file, artifacts, keys and images live. */
  dataDir: z.string().default('.nimbus'),
  /** Largest request body, bytes (413 above). */
  bodyLimitBytes: z.number().int().min(1024).default(6 * MB),
  /** Largest deployable archive once unpacked, bytes (zip-bomb guard). */
  unpackedLimitBytes: z.number().int().min(1024).default(250 * MB),
  /** Most files in a deployable archive. */
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
  /** Largest function result, bytes (an error above, never silent truncation). */
  resultLimitBytes: z.number().int().min(1024).default(6 * MB),
  /** Largest log kept per activation, bytes (truncated with a marker above). */
  logLimitBytes: z.number().int().min(1024).default(1 * MB),
  /** Idle time before a warm sandbox is disposed, ms. */
  keepAliveMs: z.number().int().min(100).default(600_000),
  /** Invocations that may wait for a busy function before 429, per function. */
  waitQueueLimit: z.number().int().min(0).default(100),
  /** Retries of a failed async invocation before dead_letter. */
  asyncRetries: z.number().int().min(0).max(20).default(2),
  /** First retry delay, ms; doubles each retry. */
  asyncRetryBaseMs: z.number().int().min(0).default(1000),
  /**
   * Activation records (with their logs and result) older than this are deleted
   * in the background, ms; 0 keeps them regardless of age. Queued and running
   * ones never are.
   * @default 604800000 (7 days)
   */
  activationRetentionMs: z.number().int().min(0).default(7 * 24 * 3600 * 1000),
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
  /** Message bus: "memory" (embedded) or a nats:// URL. */
  bus: z.string().default('memory'),
  /** Store: "sqlite" (embedded, in dataDir) or a postgres:// URL. */
  store: z.string().default('sqlite'),
  /** This process's invoker name (unique in a cluster). */
  invokerId: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/).default('local'),
  /**
   * Where functions with `network: true` may connect beyond the public internet:
   * CIDRs (IPv4 or IPv6) an operator allows, such as "10.1.0.0/16". Loopback, the
   * host's own addresses, link-local and private ranges are refused otherwise.
   * @default [] (the public internet only)
   */
  egressAllow: z.array(z.string().refine((c) => cidrProblem(c) === undefined, { error: (i) => `${JSON.stringify(i.input)} is not a CIDR (${cidrProblem(String(i.input))}); write e.g. 10.1.0.0/16` })).default([]),
  /**
   * Port of the function origin (`/fn/:name/*`), kept apart from the management
   * API so that a function's answer can never speak for the API's origin.
   * @default port + 1, or 0 (any free port) when port is 0
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
  /** API key; generated into dataDir when needed and not given. */
  apiKey: z.string().min(16).optional(),
  defaults: FunctionDefaults.default(FunctionDefaults.parse({})),
});

export type NimbusOptions = z.input<typeof NimbusOptions>;
export type NimbusConfig = Omit<z.output<typeof NimbusOptions>, 'functionsPort' | 'maxSandboxesTotal' | 'sandboxMemoryTotalMb'> & {
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
