// What a deploy request may say: the function's name rules and its config,
// validated with defaults from the platform config. Errors name the field and
// how to fix it.
import { z } from 'zod';
import type { NimbusConfig } from '../../config/options.ts';
import { ENGINE_KINDS } from '../../sandbox/driver.ts';
import { MIN_MEMORY_MB as MICROVM_MIN_MEMORY_MB } from '../../sandbox/microvm/memory.ts';
import type { FunctionConfig } from '../../storage/store.ts';
import { NimbusError } from '../../shared/errors.ts';
import { DestinationsSpec } from '../../compose/destination-spec.ts';
import { SECRET_NAME, SECRET_NAME_RULE } from '../../tenancy/secrets-rules.ts';
import { ScalingFields, compiledScaling } from './scaling-spec.ts';

export const FUNCTION_NAME = /^[a-zA-Z][a-zA-Z0-9_-]{0,63}$/;

export function checkFunctionName(name: string): string {
  if (!FUNCTION_NAME.test(name)) {
    throw new NimbusError(
      'bad_request',
      `invalid function name "${name.slice(0, 80)}": use 1-64 letters, digits, "-" or "_", starting with a letter`,
    );
  }
  return name;
}

/**
 * The environment rule for every engine, checked at deploy: a name is letters, digits and "_" not
 * starting with a digit (what a shell and the OCI spec take; "=" would split it), and a value has
 * no NUL (the C strings of exec's environment end there: containers refused every start and the
 * process engine cut the value short).
 */
export const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `secrets: {DB_PASSWORD: "db-pass"}`: env names, each given the value of a secret of the function's namespace at sandbox start. */
const SecretsMapping = z
  .record(
    z.string().regex(ENV_KEY, 'secrets keys are env names: letters, digits and "_", not starting with a digit'),
    z.string().regex(SECRET_NAME, `secrets values are secret names: ${SECRET_NAME_RULE}`),
  )
  .refine((m) => Object.keys(m).length <= 100, 'secrets may map at most 100 env names');

export const DeployConfig = z
  .object({
    runtime: z.literal('nodejs', { message: 'runtime must be "nodejs"' }).default('nodejs'),
    language: z.enum(['javascript', 'typescript']).optional(),
    handler: z
      .string()
      .regex(/^[A-Za-z0-9_./-]{1,128}$/, 'handler must look like "handler" or "file.exportName"')
      .optional(),
    engine: z.enum(ENGINE_KINDS).optional(),
    memoryMb: z.number().int().min(128).max(8192).optional(),
    timeoutMs: z.number().int().min(100).max(900_000).optional(),
    concurrency: z.number().int().min(1).max(1000).optional(),
    minSandboxes: z.number().int().min(0).max(100).optional(),
    maxSandboxes: z.number().int().min(1).max(1000).optional(),
    network: z.boolean().optional(),
    env: z
      .record(
        z.string().regex(ENV_KEY, 'env names must be letters, digits and "_", not starting with a digit'),
        z.string().refine((v) => !v.includes('\0'), 'env values must not contain a NUL character (\\u0000)'),
      )
      .refine((e) => JSON.stringify(e).length <= 64 * 1024, 'env may hold at most 64 KB')
      .optional(),
    secrets: SecretsMapping.optional(),
    destinations: DestinationsSpec.optional(),
    ...ScalingFields,
  })
  .strict();
export type DeployConfig = z.infer<typeof DeployConfig>;

export const DeployJson = DeployConfig.extend({
  code: z
    .string()
    .min(1, 'code must not be empty')
    .max(6 * 1024 * 1024),
}).strict();

export function parseOrThrow<T>(schema: z.ZodType<T>, input: unknown, what: string): T {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  const fields = schema instanceof z.ZodObject ? Object.keys(schema.shape).join(', ') : undefined;
  const describe = (i: z.core.$ZodIssue) =>
    i.code === 'unrecognized_keys' && fields && i.path.length === 0
      ? `unknown field${i.keys.length > 1 ? 's' : ''} ${i.keys.map((k) => `"${k}"`).join(', ')} (the fields are ${fields})`
      : i.code === 'invalid_key'
        ? i.issues.map((k) => k.message).join('; ')
        : i.message;
  const issues = r.error.issues
    .map((i) => (i.path.length ? `${i.path.join('.')}: ${describe(i)}` : describe(i)))
    .join('; ');
  throw new NimbusError('bad_request', `invalid ${what}: ${issues}`);
}

export function compileConfig(
  c: DeployConfig,
  language: FunctionConfig['language'],
  config: NimbusConfig,
): FunctionConfig {
  const d = config.defaults;
  const minSandboxes = c.minSandboxes ?? 0;
  const maxSandboxes = c.maxSandboxes ?? Math.max(d.maxSandboxes, minSandboxes);
  if (minSandboxes > maxSandboxes)
    throw new NimbusError('bad_request', `minSandboxes (${minSandboxes}) is over maxSandboxes (${maxSandboxes})`);
  const memoryMb = c.memoryMb ?? d.memoryMb;
  if ((c.engine ?? d.engine) === 'microvm' && memoryMb < MICROVM_MIN_MEMORY_MB) {
    throw new NimbusError(
      'bad_request',
      `a microvm function needs memoryMb >= ${MICROVM_MIN_MEMORY_MB} (its own kernel and Node), not ${memoryMb}; ask for more memory or another engine`,
    );
  }
  // Warm sandboxes that could never all run on an invoker are refused now, not left to fail at every start.
  if (minSandboxes > config.maxSandboxesTotal)
    throw new NimbusError(
      'bad_request',
      `minSandboxes (${minSandboxes}) is over the platform's maxSandboxesTotal (${config.maxSandboxesTotal}); ask for fewer, or start nimbus with a larger --max-sandboxes-total`,
    );
  if (memoryMb > config.sandboxMemoryTotalMb)
    throw new NimbusError(
      'bad_request',
      `memoryMb (${memoryMb}) is over the platform's sandboxMemoryTotalMb (${config.sandboxMemoryTotalMb} MB), so no sandbox of this function could start; ask for less memory`,
    );
  if (minSandboxes * memoryMb > config.sandboxMemoryTotalMb) {
    throw new NimbusError(
      'bad_request',
      `minSandboxes × memoryMb (${minSandboxes} × ${memoryMb} MB = ${minSandboxes * memoryMb} MB) is over the platform's sandboxMemoryTotalMb (${config.sandboxMemoryTotalMb} MB); ask for fewer or smaller sandboxes, or start nimbus with a larger --sandbox-memory-total-mb`,
    );
  }
  const engine = c.engine ?? d.engine;
  const concurrency = c.concurrency ?? (engine === 'isolate' ? d.isolateConcurrency : d.concurrency);
  return {
    runtime: 'nodejs',
    language,
    ...(c.handler ? { handler: c.handler } : {}),
    engine,
    memoryMb,
    timeoutMs: c.timeoutMs ?? d.timeoutMs,
    concurrency,
    ...compiledScaling(c, concurrency),
    minSandboxes,
    maxSandboxes,
    network: c.network ?? false,
    env: c.env ?? {},
    ...secretsOf(c),
    ...(c.destinations && (c.destinations.onSuccess || c.destinations.onFailure)
      ? { destinations: c.destinations }
      : {}),
  };
}

/** The config's secrets mapping, absent when empty (so a config without secrets compares equal to one from before them). */
function secretsOf(c: DeployConfig): { secrets?: Record<string, string> } {
  const mapping = c.secrets ?? {};
  const both = Object.keys(mapping).filter((k) => c.env !== undefined && Object.hasOwn(c.env, k));
  if (both.length)
    throw new NimbusError(
      'bad_request',
      `${both.join(', ')} ${both.length > 1 ? 'are' : 'is'} in both env and secrets; an env name takes its value from one of them only`,
    );
  return Object.keys(mapping).length ? { secrets: mapping } : {};
}
