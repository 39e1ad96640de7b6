// Platform options: every option with its default, validated once at start
// into a compiled config that the rest of nimbus reads (never raw input).
import path from 'node:path';
import { z } from 'zod';
import { ENGINE_KINDS } from '../sandbox/driver.ts';

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
  /** Message bus: "memory" (embedded) or a nats:// URL. */
  bus: z.string().default('memory'),
  /** Store: "sqlite" (embedded, in dataDir) or a postgres:// URL. */
  store: z.string().default('sqlite'),
  /** This process's invoker name (unique in a cluster). */
  invokerId: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/).default('local'),
  /** API key; generated into dataDir when needed and not given. */
  apiKey: z.string().min(16).optional(),
  defaults: FunctionDefaults.default(FunctionDefaults.parse({})),
});

export type NimbusOptions = z.input<typeof NimbusOptions>;
export type NimbusConfig = z.output<typeof NimbusOptions> & { dataDir: string };

export function resolveConfig(input: NimbusOptions = {}): NimbusConfig {
  const parsed = NimbusOptions.safeParse(input);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || 'options'}: ${i.message}`).join('; ');
    throw new Error(`invalid nimbus options: ${issues}`);
  }
  return { ...parsed.data, dataDir: path.resolve(parsed.data.dataDir) };
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}
