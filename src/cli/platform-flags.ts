// The platform flags of `nimbus serve`, `nimbus invoker` and `nimbus setup`,
// declared once: each flag's name, environment variable, the option it sets,
// its parser (with a clear error) and its default, read from
// config/options.ts. A command picks the flags it takes (with its own wording
// where it differs); the value comes from the flag, else the variable, else
// the default, so changing a default in options.ts changes --help and the
// running platform together.
import os from 'node:os';
import { Option, type Command } from 'commander';
import { COMPUTED_DEFAULTS, DEFAULTS, PROCESS_LOG_LEVEL } from '../config/options.ts';
import type { PlatformOptions } from '../platform.ts';
import { CliError } from './client.ts';
import {
  age,
  apiKey,
  boundsOf,
  yesNo,
  cidr,
  decimal,
  formatAge,
  invokerName,
  logLevel,
  port,
  text,
  wholeNumber,
  type Parse,
} from './flag-kinds.ts';

type Key = keyof PlatformOptions;
type Value<K extends Key> = NonNullable<PlatformOptions[K]>;
type Element<K extends Key> = Value<K> extends readonly (infer E)[] ? E : Value<K>;

export interface PlatformFlag<K extends Key = Key> {
  /** The platform option the flag sets. */
  key: K;
  /** As commander takes it: '--port <port>'. */
  flag: string;
  env: string;
  help: string;
  /** Used when neither the flag nor the variable is given, written as one would type it (and parsed the same way). */
  default?: string;
  /** Shown in --help as the default instead of `default`: how it is found when it is computed. */
  defaultHelp?: string;
  /** Given again for each value (the variable holds a comma-separated list); the option is the array of them. */
  repeatable?: boolean;
  parse: Parse<Element<K>>;
}

type AnyFlag = { [K in Key]: PlatformFlag<K> }[Key];
/** Checks one entry against the option it sets (the parser must give that option's type). */
const def = <K extends Key>(flag: PlatformFlag<K>) => flag;

const unbounded = { min: 1, max: Number.MAX_SAFE_INTEGER };

export const PLATFORM_FLAGS = {
  port: def({
    key: 'port',
    flag: '--port <port>',
    env: 'NIMBUS_PORT',
    help: 'port of the API (/v1); 0 takes any free port',
    default: String(DEFAULTS.port),
    parse: port(boundsOf('port')),
  }),
  functionsPort: def({
    key: 'functionsPort',
    flag: '--functions-port <port>',
    env: 'NIMBUS_FUNCTIONS_PORT',
    help: 'port of the function origin (ANY /fn/:name/*), kept apart from the API',
    defaultHelp: COMPUTED_DEFAULTS.functionsPort,
    parse: port(boundsOf('functionsPort')),
  }),
  host: def({
    key: 'host',
    flag: '--host <host>',
    env: 'NIMBUS_HOST',
    help: 'address to listen on (beyond loopback an API key is required)',
    default: DEFAULTS.host,
    parse: text,
  }),
  dataDir: def({
    key: 'dataDir',
    flag: '--data-dir <dir>',
    env: 'NIMBUS_DATA_DIR',
    help: 'where state lives',
    default: DEFAULTS.dataDir,
    parse: text,
  }),
  bus: def({
    key: 'bus',
    flag: '--bus <url>',
    env: 'NIMBUS_BUS',
    help: '"memory" or nats://host:port',
    default: DEFAULTS.bus,
    parse: text,
  }),
  store: def({
    key: 'store',
    flag: '--store <url>',
    env: 'NIMBUS_STORE',
    help: '"sqlite" or postgres://…',
    default: DEFAULTS.store,
    parse: text,
  }),
  invokerId: def({
    key: 'invokerId',
    flag: '--invoker-id <id>',
    env: 'NIMBUS_INVOKER_ID',
    help: "name of this process's invoker",
    default: DEFAULTS.invokerId,
    parse: invokerName,
  }),
  logLevel: def({
    key: 'logLevel',
    flag: '--log-level <level>',
    env: 'NIMBUS_LOG_LEVEL',
    help: 'pino log level',
    default: PROCESS_LOG_LEVEL,
    parse: logLevel,
  }),
  apiKey: def({
    key: 'apiKey',
    flag: '--api-key <key>',
    env: 'NIMBUS_API_KEY',
    help: 'API key clients must send (16+ characters); front-end replicas share one',
    defaultHelp: COMPUTED_DEFAULTS.apiKey,
    parse: apiKey,
  }),
  requireKey: def({
    key: 'requireKey',
    flag: '--require-key',
    env: 'NIMBUS_REQUIRE_KEY',
    help: 'refuse requests without a key on loopback too (the root key is generated as beyond loopback)',
    default: String(DEFAULTS.requireKey),
    parse: yesNo,
  }),
  slots: def({
    key: 'slots',
    flag: '--slots <n>',
    env: 'NIMBUS_SLOTS',
    help: 'runs taken before the balancer overflows to other invokers',
    defaultHelp: '4 per CPU, at least 2',
    parse: wholeNumber(unbounded),
  }),
  maxSandboxesTotal: def({
    key: 'maxSandboxesTotal',
    flag: '--max-sandboxes-total <n>',
    env: 'NIMBUS_MAX_SANDBOXES_TOTAL',
    help: 'most sandboxes this invoker runs at once, all functions together',
    defaultHelp: COMPUTED_DEFAULTS.maxSandboxesTotal,
    parse: wholeNumber(boundsOf('maxSandboxesTotal')),
  }),
  sandboxMemoryTotalMb: def({
    key: 'sandboxMemoryTotalMb',
    flag: '--sandbox-memory-total-mb <mb>',
    env: 'NIMBUS_SANDBOX_MEMORY_TOTAL_MB',
    help: 'most memory its sandboxes may be given together, MB',
    defaultHelp: COMPUTED_DEFAULTS.sandboxMemoryTotalMb,
    parse: wholeNumber(boundsOf('sandboxMemoryTotalMb')),
  }),
  egressAllow: def({
    key: 'egressAllow',
    flag: '--egress-allow <cidr>',
    env: 'NIMBUS_EGRESS_ALLOW',
    repeatable: true,
    parse: cidr,
    help: "let functions with network reach this range although it is private, loopback or the host's own (repeatable; the variable takes a comma-separated list)",
    default: DEFAULTS.egressAllow.join(','),
    defaultHelp: DEFAULTS.egressAllow.length ? undefined : 'none, the public internet only',
  }),
  activationRetentionMs: def({
    key: 'activationRetentionMs',
    flag: '--activation-retention <age>',
    env: 'NIMBUS_ACTIVATION_RETENTION',
    parse: age(' (or 0 to keep records regardless of age)'),
    help: 'delete activation records (logs, results) older than this: 7d, 12h, 30m, 90s, or 0 to keep them regardless of age',
    default: formatAge(DEFAULTS.activationRetentionMs),
  }),
  activationRetentionPerFunction: def({
    key: 'activationRetentionPerFunction',
    flag: '--activation-retention-per-function <n>',
    env: 'NIMBUS_ACTIVATION_RETENTION_PER_FUNCTION',
    help: 'keep at most the newest n finished activation records of each function, 0 for no limit',
    default: String(DEFAULTS.activationRetentionPerFunction),
    parse: wholeNumber(
      boundsOf('activationRetentionPerFunction'),
      `${DEFAULTS.activationRetentionPerFunction} (or 0 for no limit)`,
    ),
  }),
  costGbSecondUsd: def({
    key: 'costGbSecondUsd',
    flag: '--cost-gb-second-usd <usd>',
    env: 'NIMBUS_COST_GB_SECOND_USD',
    help: 'cost report: serverless price per GB-second (AWS Lambda x86)',
    default: String(DEFAULTS.costGbSecondUsd),
    parse: decimal(boundsOf('costGbSecondUsd')),
  }),
  costPerMillionRequestsUsd: def({
    key: 'costPerMillionRequestsUsd',
    flag: '--cost-per-million-requests-usd <usd>',
    env: 'NIMBUS_COST_PER_MILLION_REQUESTS_USD',
    help: 'cost report: serverless price per million requests (AWS Lambda)',
    default: String(DEFAULTS.costPerMillionRequestsUsd),
    parse: decimal(boundsOf('costPerMillionRequestsUsd')),
  }),
  costVmHourUsd: def({
    key: 'costVmHourUsd',
    flag: '--cost-vm-hour-usd <usd>',
    env: 'NIMBUS_COST_VM_HOUR_USD',
    help: 'cost report: one always-on VM per hour (AWS c5.large on-demand, us-east-1)',
    default: String(DEFAULTS.costVmHourUsd),
    parse: decimal(boundsOf('costVmHourUsd')),
  }),
  costVmVcpus: def({
    key: 'costVmVcpus',
    flag: '--cost-vm-vcpus <n>',
    env: 'NIMBUS_COST_VM_VCPUS',
    help: 'cost report: vCPUs of one VM (each runs one call at a time)',
    default: String(DEFAULTS.costVmVcpus),
    parse: wholeNumber(boundsOf('costVmVcpus')),
  }),
  costVmMemoryMb: def({
    key: 'costVmMemoryMb',
    flag: '--cost-vm-memory-mb <mb>',
    env: 'NIMBUS_COST_VM_MEMORY_MB',
    help: 'cost report: memory of one VM, MB',
    default: String(DEFAULTS.costVmMemoryMb),
    parse: wholeNumber(boundsOf('costVmMemoryMb')),
  }),
} satisfies { [K in Key]?: PlatformFlag<K> };

export type FlagName = keyof typeof PLATFORM_FLAGS;

/** The flags every platform process takes alike: caps, egress, retention. */
export const SHARED_FLAGS = [
  'maxSandboxesTotal',
  'sandboxMemoryTotalMb',
  'egressAllow',
  'activationRetentionMs',
  'activationRetentionPerFunction',
] as const satisfies readonly FlagName[];

/** The cost report's prices (src/reports/), taken by the front ends that serve it. */
export const COST_FLAGS = [
  'costGbSecondUsd',
  'costPerMillionRequestsUsd',
  'costVmHourUsd',
  'costVmVcpus',
  'costVmMemoryMb',
] as const satisfies readonly FlagName[];

/** The name an invoker gives itself when not told: this host's name and the process id. */
export const defaultInvokerId = () => `${os.hostname()}-${process.pid}`.replace(/[^a-zA-Z0-9_-]/g, '-').slice(0, 64);

export interface FlagSet {
  flags: readonly AnyFlag[];
  /** Declares the flags on a command, with their default and variable in the help. */
  addTo(command: Command): Command;
  /** The platform options from the command's flags, the environment and the defaults; a CliError (exit 2) for a bad value. */
  read(given: Record<string, unknown>, env?: NodeJS.ProcessEnv): Partial<PlatformOptions>;
}

/** The flags a command takes, each from the table, with the command's own wording where it differs. */
export function platformFlags(
  names: readonly FlagName[],
  overrides: { [N in FlagName]?: Partial<Omit<PlatformFlag, 'key' | 'parse' | 'flag' | 'env'>> } = {},
): FlagSet {
  const flags = names.map((name) => ({ ...PLATFORM_FLAGS[name], ...overrides[name] }) as AnyFlag);
  return {
    flags,
    addTo(command) {
      for (const f of flags) {
        const shown = f.defaultHelp ?? f.default;
        const option = new Option(
          f.flag,
          `${f.help} (${[shown === undefined ? '' : `default: ${shown}`, `env ${f.env}`].filter(Boolean).join('; ')})`,
        );
        if (f.repeatable)
          option.argParser((value: string, previous: string[] | undefined) => [...(previous ?? []), value]);
        command.addOption(option);
      }
      return command;
    },
    read(given, env = process.env) {
      const out: Record<string, unknown> = {};
      for (const f of flags) {
        const fromFlag = given[new Option(f.flag).attributeName()] as string | string[] | undefined;
        const fromEnv = env[f.env] || undefined;
        const raw = fromFlag ?? fromEnv ?? f.default;
        if (raw === undefined) continue;
        const parse = (text: string) => {
          try {
            return (f.parse as Parse<unknown>)(text, f.flag.split(' ')[0] ?? f.flag);
          } catch (e) {
            if (fromFlag === undefined && fromEnv !== undefined && e instanceof CliError)
              throw new CliError(`${e.message} (from ${f.env})`, e.exitCode);
            throw e;
          }
        };
        const entries = (list: string | string[]) =>
          Array.isArray(list)
            ? list
            : list
                .split(',')
                .map((s) => s.trim())
                .filter(Boolean);
        out[f.key] = f.repeatable ? entries(raw).map(parse) : parse(Array.isArray(raw) ? raw.join(',') : raw);
      }
      return out as Partial<PlatformOptions>;
    },
  };
}
