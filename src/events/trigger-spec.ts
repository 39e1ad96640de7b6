// What a trigger may say (PUT /v1/triggers/:name): a cron schedule or a topic
// subscription, each naming the function it starts. Cron expressions and time
// zones are checked here, with croner's reason and an example, so that a
// trigger that is stored can always be scheduled.
import { Cron } from 'croner';
import { z } from 'zod';
import { NimbusError } from '../shared/errors.ts';

/** Trigger and topic names: safe in URLs, SQL and NATS subjects. */
export const TRIGGER_NAME = /^[a-zA-Z][a-zA-Z0-9_-]{0,63}$/;
export const TOPIC_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/;
/** A function, a version of it or an alias: `name`, `name:3`, `name:live` (function names as deploy takes them). */
export const FUNCTION_REF = /^([a-zA-Z][a-zA-Z0-9_-]{0,63})(?::([a-zA-Z0-9][a-zA-Z0-9_-]{0,63}))?$/;

const ref = z.string().regex(FUNCTION_REF, 'function must be a function name, "name:3" (a version) or "name:alias"');

/** A filter is exact matches on top-level fields of the event: {"type": "order.created", "priority": 1}. */
const Filter = z.record(z.string().min(1).max(128), z.union([z.string().max(1024), z.number(), z.boolean(), z.null()]));

export const CronSpec = z
  .object({
    type: z.literal('cron'),
    schedule: z.string().min(1).max(200),
    timezone: z.string().min(1).max(64).optional(),
    function: ref,
    /** What each activation gets as its event, beside the tick's time. */
    event: z.record(z.string(), z.unknown()).optional(),
    /** Fire every tick missed while no leader ran (at most MAX_CATCH_UP), not only recent ones. */
    catchUp: z.boolean().optional(),
  })
  .strict();

export const TopicSpec = z
  .object({
    type: z.literal('topic'),
    topic: z.string().regex(TOPIC_NAME, 'topic must be 1-128 letters, digits, ".", "-" or "_"'),
    function: ref,
    filter: Filter.optional(),
  })
  .strict();

export const TriggerSpec = z.discriminatedUnion('type', [CronSpec, TopicSpec], {
  error: 'type must be "cron" or "topic"',
});
export type CronSpec = z.infer<typeof CronSpec>;
export type TopicSpec = z.infer<typeof TopicSpec>;
export type TriggerSpec = z.infer<typeof TriggerSpec>;

const EXAMPLE = 'for example "*/5 * * * *" (every 5 minutes) or "*/10 * * * * *" (every 10 seconds, seconds first)';

/** The schedule as croner runs it; 400 with croner's reason for a bad expression or time zone. */
export function compileSchedule(spec: Pick<CronSpec, 'schedule' | 'timezone'>): Cron {
  if (spec.timezone !== undefined) {
    try {
      new Intl.DateTimeFormat('en', { timeZone: spec.timezone });
    } catch (e) {
      throw new NimbusError(
        'bad_request',
        `invalid timezone "${spec.timezone}": ${(e as Error).message}; use an IANA name such as "Europe/Berlin" or "UTC"`,
      );
    }
  }
  try {
    // Paused and without a callback: croner only computes times, it starts no timer.
    return new Cron(spec.schedule, { paused: true, timezone: spec.timezone, mode: '5-or-6-parts' });
  } catch (e) {
    throw new NimbusError(
      'bad_request',
      `invalid schedule "${spec.schedule}": ${(e as Error).message.replace(/\.$/, '')}; ${EXAMPLE}`,
    );
  }
}

/** Whether an event passes a topic trigger's filter (every field equal; no filter passes everything). */
export function matchesFilter(filter: TopicSpec['filter'], event: unknown): boolean {
  if (!filter) return true;
  if (typeof event !== 'object' || event === null || Array.isArray(event)) return Object.keys(filter).length === 0;
  const fields = event as Record<string, unknown>;
  return Object.entries(filter).every(([k, v]) => Object.hasOwn(fields, k) && fields[k] === v);
}

/** A function reference's parts: the base name and the version or alias after ':'. */
export function splitRef(ref: string): { base: string; qualifier?: string } {
  const m = FUNCTION_REF.exec(ref);
  if (!m?.[1]) throw new NimbusError('bad_request', `invalid function "${ref}"`);
  return m[2] === undefined ? { base: m[1] } : { base: m[1], qualifier: m[2] };
}
