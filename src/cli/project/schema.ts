// What nimbus.yaml may say, checked with zod before anything is sent: the
// namespace, the functions (the deploy config of PUT /v1/functions/:name, with
// its `secrets` by name, plus the code's path, destinations and aliases) and the
// triggers. Each part is the server's own schema where one exists, so the file
// is refused for what the API would refuse, at the line that says it.
import { z } from 'zod';
import { DestinationsSpec } from '../../compose/destination-spec.ts';
import { SequenceSpec } from '../../compose/sequence-spec.ts';
import { TriggerSpec, TRIGGER_NAME } from '../../events/trigger-spec.ts';
import { DeployConfig, FUNCTION_NAME } from '../../frontend/build/function-spec.ts';
import { NAMESPACE_NAME } from '../../tenancy/names.ts';

const functionName = z.string().regex(FUNCTION_NAME, 'use 1-64 letters, digits, "-" or "_", starting with a letter');
const aliasName = z
  .string()
  .regex(/^[a-zA-Z][a-zA-Z0-9_-]{0,63}$/, 'alias names are letters, digits, "-" or "_", starting with a letter');

export const AliasSpec = z
  .object({
    /** A version number, or `latest`: the version this deploy leaves current. */
    version: z.union([z.number().int().min(1), z.literal('latest')]),
    weights: z
      .record(z.string().regex(/^[1-9][0-9]*$/, 'weights are keyed by version number'), z.number().min(0).max(1))
      .refine((w) => Object.values(w).reduce((a, b) => a + b, 0) <= 1, 'the weights add up to more than 1')
      .optional(),
  })
  .strict();
export type AliasSpec = z.infer<typeof AliasSpec>;

/** What a sequence (kind: sequence) may say beside its steps. */
const SEQUENCE_FIELDS = new Set(['kind', 'steps', 'timeoutMs', 'aliases', 'runtime']);

/** A function with code, or a sequence (`kind: sequence`, `steps: [a, b]`) of functions. */
export const FunctionSpec = DeployConfig.extend({
  /** A .js/.ts file or a directory, relative to nimbus.yaml. */
  code: z.string().min(1, 'code names a .js/.ts file or a directory, relative to nimbus.yaml').optional(),
  kind: SequenceSpec.shape.kind.optional(),
  steps: SequenceSpec.shape.steps.optional(),
  destinations: DestinationsSpec.optional(),
  aliases: z.record(aliasName, AliasSpec).optional(),
})
  .strict()
  .superRefine((f, ctx) => {
    if (f.kind !== 'sequence') {
      if (f.code === undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['code'],
          message:
            'code names a .js/.ts file or a directory, relative to nimbus.yaml (or say kind: sequence with steps)',
        });
      if (f.steps !== undefined)
        ctx.addIssue({ code: 'custom', path: ['steps'], message: 'steps are for kind: sequence' });
      return;
    }
    if (f.steps === undefined)
      ctx.addIssue({ code: 'custom', path: ['kind'], message: 'a sequence lists its steps: steps: [first, second]' });
    for (const k of Object.keys(f))
      if (!SEQUENCE_FIELDS.has(k))
        ctx.addIssue({ code: 'custom', path: [k], message: 'a sequence takes only steps, timeoutMs and aliases' });
  });
export type FunctionSpec = z.infer<typeof FunctionSpec>;

export { TriggerSpec };

export const ProjectSpec = z
  .object({
    namespace: z
      .string()
      .regex(NAMESPACE_NAME, 'use 1-40 lower-case letters, digits or "-", starting with a letter')
      .optional(),
    functions: z
      .record(functionName, FunctionSpec)
      .refine((f) => Object.keys(f).length > 0, 'declare at least one function'),
    triggers: z
      .record(
        z.string().regex(TRIGGER_NAME, 'use 1-64 letters, digits, "-" or "_", starting with a letter'),
        TriggerSpec,
      )
      .nullish(),
  })
  .strict();
export type ProjectSpec = z.infer<typeof ProjectSpec>;
