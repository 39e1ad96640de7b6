// The cost report's query string, checked: from/to (ISO date-times; default the
// last hour), bucket (5m, 30s, 1h…), and prices that override the platform's
// configured ones for this one report. Every refusal says how to fix it.
import { z } from 'zod';
import { NimbusOptions, type NimbusConfig } from '../config/options.ts';
import { NimbusError } from '../shared/errors.ts';
import type { CostPrices } from './cost.ts';

export const MAX_BUCKETS = 1000;
export const DEFAULT_BUCKET = '5m';
const DEFAULT_SPAN_MS = 3_600_000;
const ISO_TIME = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;
const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Query parameter → the price it overrides and that price's option (whose bounds it keeps). */
export const PRICE_PARAMS = {
  gbSecondUsd: 'costGbSecondUsd',
  perMillionRequestsUsd: 'costPerMillionRequestsUsd',
  vmHourUsd: 'costVmHourUsd',
  vmVcpus: 'costVmVcpus',
  vmMemoryMb: 'costVmMemoryMb',
} as const satisfies Record<keyof CostPrices, keyof NimbusConfig>;

export type CostQueryString = { from?: string; to?: string; bucket?: string; function?: string } & {
  [K in keyof CostPrices]?: string;
};

export interface CostWindow {
  fromMs: number;
  toMs: number;
  bucketMs: number;
}

const KNOWN = ['from', 'to', 'bucket', 'function', ...Object.keys(PRICE_PARAMS)];

/** The query string as single strings of known names: a typo (buckets=) or a repeat is a 400, not silently ignored. */
export function checkCostQuery(raw: Record<string, unknown>): CostQueryString {
  for (const [key, value] of Object.entries(raw)) {
    if (!KNOWN.includes(key))
      throw new NimbusError(
        'bad_request',
        `unknown query parameter "${key.slice(0, 40)}"; the report takes ${KNOWN.join(', ')}`,
      );
    if (typeof value !== 'string') throw new NimbusError('bad_request', `${key} is given more than once; give it once`);
  }
  return raw as CostQueryString;
}

export function windowOf(q: CostQueryString, now = Date.now()): CostWindow {
  const toMs = q.to === undefined ? now : timeOf('to', q.to);
  const fromMs = q.from === undefined ? toMs - DEFAULT_SPAN_MS : timeOf('from', q.from);
  if (fromMs >= toMs)
    throw new NimbusError(
      'bad_request',
      `from (${q.from ?? 'default'}) must be before to (${q.to ?? 'now'}); swap them`,
    );
  const bucketMs = bucketOf(q.bucket ?? DEFAULT_BUCKET);
  const buckets = Math.ceil((toMs - fromMs) / bucketMs);
  if (buckets > MAX_BUCKETS)
    throw new NimbusError(
      'bad_request',
      `from..to in buckets of ${q.bucket ?? DEFAULT_BUCKET} makes ${buckets} buckets, more than ${MAX_BUCKETS}; use a larger bucket or a shorter window`,
    );
  return { fromMs, toMs, bucketMs };
}

/** The configured prices, each overridden by its query parameter when given. */
export function pricesOf(q: CostQueryString, config: NimbusConfig): CostPrices {
  const prices = {} as CostPrices;
  for (const param of Object.keys(PRICE_PARAMS) as (keyof CostPrices)[]) {
    const raw = q[param];
    const key = PRICE_PARAMS[param];
    if (raw === undefined) {
      prices[param] = config[key];
      continue;
    }
    const schema = NimbusOptions.shape[key].unwrap() as z.ZodNumber;
    const parsed = schema.safeParse(raw.trim() === '' ? Number.NaN : Number(raw));
    if (!parsed.success)
      throw new NimbusError(
        'bad_request',
        `${param} must be a number from ${schema.minValue} to ${schema.maxValue}${schema.isInt ? ', whole' : ''} (default ${config[key]}), got "${raw.slice(0, 40)}"`,
      );
    prices[param] = parsed.data;
  }
  return prices;
}

function timeOf(name: string, text: string): number {
  const ms = ISO_TIME.test(text) ? Date.parse(text) : Number.NaN;
  if (Number.isNaN(ms))
    throw new NimbusError('bad_request', `${name} must be an ISO date-time such as 2026-12-01T12:00:00Z`);
  return ms;
}

export function bucketOf(text: string): number {
  const m = /^(\d{1,6})(s|m|h|d)$/.exec(text);
  const ms = m ? Number(m[1]) * (UNIT_MS[m[2]!] ?? 0) : 0;
  if (ms <= 0)
    throw new NimbusError(
      'bad_request',
      `bucket must be a number and a unit (s, m, h or d), such as 30s, 5m, 1h or 1d, got "${text.slice(0, 40)}"`,
    );
  return ms;
}
