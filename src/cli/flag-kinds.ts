// The kinds of value a platform flag of `nimbus serve` / `nimbus invoker`
// takes (port, whole number, age, CIDR, log level, invoker name, API key,
// plain text), each a parser that turns the raw text into the option's value
// or throws a CliError (exit 2) saying what was wrong and what a good value
// looks like. Bounds are read from the options schema, so a flag and the
// option it sets cannot disagree.
import { z } from 'zod';
import { LOG_LEVELS, NimbusOptions } from '../config/options.ts';
import { cidrProblem } from '../sandbox/network/cidr.ts';
import { CliError } from './client.ts';

/** Turns a flag's raw text into its value; `flag` names it in the error. */
export type Parse<T> = (raw: string, flag: string) => T;

const bad = (message: string) => new CliError(message, 2);
const WHOLE = /^\d+$/;

/** The least and greatest value the schema allows a numeric option. */
export function boundsOf(key: keyof typeof NimbusOptions.shape): { min: number; max: number } {
  let schema: z.ZodType = NimbusOptions.shape[key];
  while (schema instanceof z.ZodOptional || schema instanceof z.ZodDefault) schema = schema.unwrap() as z.ZodType;
  if (!(schema instanceof z.ZodNumber)) throw new Error(`option ${key} is not a number`);
  return { min: schema.minValue ?? 0, max: schema.maxValue ?? Number.MAX_SAFE_INTEGER };
}

export const port =
  ({ min, max }: { min: number; max: number }): Parse<number> =>
  (raw, flag) => {
    const n = Number(raw);
    if (!WHOLE.test(raw.trim()) || n < min || n > max) throw bad(`${flag} must be ${min}-${max}, got "${raw}"`);
    return n;
  };

/** A whole number within bounds; `example` (such as "10000 (or 0 for no limit)") is shown instead of the bare bound. */
export const wholeNumber =
  ({ min, max }: { min: number; max: number }, example?: string): Parse<number> =>
  (raw, flag) => {
    const n = Number(raw);
    if (!WHOLE.test(raw.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
      const range = max < Number.MAX_SAFE_INTEGER ? `from ${min} to ${max}` : `≥ ${min}`;
      throw bad(`${flag} must be a whole number ${example ? `such as ${example}` : range}, got "${raw}"`);
    }
    return n;
  };

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** An age such as "7d" or "36h" in ms, or undefined when it is not one. */
export function parseAge(raw: string): number | undefined {
  const m = /^(\d+)(ms|s|m|h|d)?$/.exec(raw.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  return n === 0 ? 0 : n * (UNIT_MS[m[2] ?? 'ms'] ?? 1);
}

/** An age in ms written the way a flag takes it, in the largest unit that divides it: 604800000 is "7d". */
export function formatAge(ms: number): string {
  if (ms === 0) return '0';
  const unit = (['d', 'h', 'm', 's'] as const).find((u) => ms % (UNIT_MS[u] ?? 1) === 0);
  return unit ? `${ms / (UNIT_MS[unit] ?? 1)}${unit}` : `${ms}ms`;
}

export const age =
  (hint: string): Parse<number> =>
  (raw, flag) => {
    const ms = parseAge(raw);
    if (ms === undefined || !Number.isSafeInteger(ms))
      throw bad(`${flag} must be an age such as 7d, 12h, 30m or 90s${hint}, got "${raw}"`);
    return ms;
  };

/** One CIDR of a repeatable flag; each entry is checked apart so the error names it. */
export const cidr: Parse<string> = (raw, flag) => {
  const problem = cidrProblem(raw);
  if (problem)
    throw bad(
      `${flag} "${raw}" is not a CIDR: ${problem}; write an address with a prefix length, such as ${flag} 10.1.0.0/16`,
    );
  return raw;
};

export const logLevel: Parse<string> = (raw, flag) => {
  if (!(LOG_LEVELS as readonly string[]).includes(raw))
    throw bad(`${flag} must be one of ${LOG_LEVELS.join(', ')}, got "${raw}"`);
  return raw;
};

export const invokerName: Parse<string> = (raw, flag) => {
  if (!NimbusOptions.shape.invokerId.safeParse(raw).success)
    throw bad(`${flag} must be 1-64 letters, digits, _ or -, such as node-1, got "${raw}"`);
  return raw;
};

/** A secret: the error says what is wrong without repeating it. */
/** A switch: the flag alone (commander gives true), or true/false, 1/0, yes/no in its variable. */
export const yesNo: Parse<boolean> = (raw, flag) => {
  const t = String(raw).trim().toLowerCase();
  if (['true', '1', 'yes'].includes(t)) return true;
  if (['false', '0', 'no', ''].includes(t)) return false;
  throw bad(`${flag} takes no value (its variable: true or false), got "${raw}"`);
};

export const apiKey: Parse<string> = (raw, flag) => {
  const min = NimbusOptions.shape.apiKey.unwrap().minLength ?? 0;
  if (raw.length < min)
    throw bad(
      `${flag} must be at least ${min} characters (it had ${raw.length}): a long random key, such as the output of \`openssl rand -base64 24\``,
    );
  return raw;
};

export const text: Parse<string> = (raw) => raw;

/** A decimal number from min to max, such as a price in USD: 0.085 or 1.5e-5. */
export const decimal =
  ({ min, max }: { min: number; max: number }): Parse<number> =>
  (raw, flag) => {
    const n = Number(raw.trim());
    if (raw.trim() === '' || !Number.isFinite(n) || n < min || n > max)
      throw bad(`${flag} must be a number from ${min} to ${max}, such as 0.085, got "${raw}"`);
    return n;
  };
