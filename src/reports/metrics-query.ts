// The query strings of the metrics and latency reports, checked: `window` (how
// far back from now, e.g. 1h) and, for metrics, `step` (e.g. 1m). Durations are
// written as the cost report's buckets are (cost-query.ts); every refusal says
// how to fix it.
import { NimbusError } from '../shared/errors.ts';
import { bucketOf, MAX_BUCKETS } from './cost-query.ts';

/** The longest window a report reads (the records' default retention). */
export const MAX_WINDOW_MS = 7 * 86_400_000;

export interface ReportWindow {
  fromMs: number;
  toMs: number;
  stepMs: number;
}

/** The window ending now: `window` (default `defaults.window`), and `step` when the report has steps. */
export function reportWindow(
  raw: Record<string, unknown>,
  defaults: { window: string; step?: string },
  now = Date.now(),
): ReportWindow {
  const known = defaults.step === undefined ? ['window'] : ['window', 'step'];
  for (const [key, value] of Object.entries(raw)) {
    if (!known.includes(key))
      throw new NimbusError(
        'bad_request',
        `unknown query parameter "${key.slice(0, 40)}"; this report takes ${known.join(' and ')}`,
      );
    if (typeof value !== 'string') throw new NimbusError('bad_request', `${key} is given more than once; give it once`);
  }
  const q = raw as { window?: string; step?: string };
  const windowText = q.window ?? defaults.window;
  const spanMs = durationOf('window', windowText);
  if (spanMs > MAX_WINDOW_MS)
    throw new NimbusError('bad_request', `window ${windowText.slice(0, 40)} is longer than 7d; give at most 7d`);
  const stepText = q.step ?? defaults.step ?? windowText;
  const stepMs = durationOf('step', stepText);
  if (stepMs > spanMs)
    throw new NimbusError(
      'bad_request',
      `step ${stepText.slice(0, 40)} is longer than window ${windowText}; shorten it`,
    );
  const steps = Math.ceil(spanMs / stepMs);
  if (steps > MAX_BUCKETS)
    throw new NimbusError(
      'bad_request',
      `window ${windowText} in steps of ${stepText} makes ${steps} steps, more than ${MAX_BUCKETS}; use a larger step or a shorter window`,
    );
  return { fromMs: now - spanMs, toMs: now, stepMs };
}

function durationOf(name: string, text: string): number {
  try {
    return bucketOf(text);
  } catch {
    throw new NimbusError(
      'bad_request',
      `${name} must be a number and a unit (s, m, h or d), such as 30s, 1m, 1h or 1d, got "${text.slice(0, 40)}"`,
    );
  }
}
