// What a sequence deploy may say (OpenWhisk's sequences): an ordered list of
// functions of the same namespace, each step's result the next step's event.
// Steps name functions as everywhere else: `name`, `name:3` (a version) or
// `name:alias`. Checked at deploy: every step exists and no sequence reaches
// itself through its steps (a cycle would run forever).
import { z } from 'zod';
import { NimbusError } from '../shared/errors.ts';

/** A function reference: name, or name:version, or name:alias. */
export const STEP_REF = /^[a-zA-Z][a-zA-Z0-9_-]{0,63}(:[a-zA-Z0-9_-]{1,64})?$/;
/** Steps a sequence may have; a nested sequence counts as one. */
export const MAX_STEPS = 50;
/** How deep sequences may nest (a sequence step that is itself a sequence). */
export const MAX_NESTING = 8;

export const SequenceSpec = z
  .object({
    kind: z.literal('sequence'),
    steps: z
      .array(z.string().regex(STEP_REF, 'a step is a function name, name:version or name:alias'))
      .min(1, 'a sequence needs at least one step')
      .max(MAX_STEPS, `a sequence has at most ${MAX_STEPS} steps`),
    timeoutMs: z.number().int().min(100).max(900_000).optional(),
  })
  .strict();
export type SequenceSpec = z.infer<typeof SequenceSpec>;

/** The function name a step reference starts with. */
export function stepFunction(ref: string): string {
  return ref.split(':')[0] ?? ref;
}

/**
 * Refuses a sequence that reaches `name` again through its steps. `stepsOf`
 * gives the steps of a deployed sequence (undefined for a plain function).
 */
export async function checkNoCycle(
  name: string,
  steps: string[],
  stepsOf: (fn: string) => Promise<string[] | undefined>,
): Promise<void> {
  const walk = async (fn: string, path: string[]): Promise<void> => {
    if (fn === name) {
      throw new NimbusError(
        'bad_request',
        `sequence "${name}" would run itself: ${[name, ...path].join(' → ')}; remove the step that leads back`,
      );
    }
    if (path.length > MAX_NESTING)
      throw new NimbusError('bad_request', `sequences nest deeper than ${MAX_NESTING}: ${path.join(' → ')}`);
    for (const s of (await stepsOf(fn)) ?? []) await walk(stepFunction(s), [...path, stepFunction(s)]);
  };
  for (const s of steps) await walk(stepFunction(s), [stepFunction(s)]);
}
