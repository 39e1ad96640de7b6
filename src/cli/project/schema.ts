// What nimbus.yaml may say, checked with zod before anything is sent: the
// namespace, the functions (the deploy config of PUT /v1/functions/:name plus
// the code's path, secrets by name, destinations and aliases) and the triggers,
// in the shapes of the API (DESIGN §4) so that the file reads like the requests.
import { z } from 'zod';
import { DeployConfig, FUNCTION_NAME } from '../../frontend/build/function-spec.ts';
import { NAMESPACE_NAME } from '../../tenancy/names.ts';

const functionName = z.string().regex(FUNCTION_NAME, 'use 1-64 letters, digits, "-" or "_", starting with a letter');
/** A function as a trigger or destination names it: `name`, `name:3` or `name:alias`. */
const functionRef = z
  .string()
  .regex(
    /^[a-zA-Z][a-zA-Z0-9_-]{0,63}(:[a-zA-Z0-9][a-zA-Z0-9_-]{0,63})?$/,
    'name a function: "name", "name:3" or "name:alias"',
  );
const aliasName = z
  .string()
  .regex(/^[a-zA-Z][a-zA-Z0-9_-]{0,63}$/, 'alias names are letters, digits, "-" or "_", starting with a letter');
const secretName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/, 'a secret name: letters, digits, "_", "." or "-"');

const Destination = z.union([
  z.object({ function: functionRef }).strict(),
  z.object({ topic: z.string().min(1) }).strict(),
  z.object({ url: z.url(), secret: secretName.optional() }).strict(),
]);

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

export const FunctionSpec = DeployConfig.extend({
  /** A .js/.ts file or a directory, relative to nimbus.yaml. */
  code: z.string().min(1, 'code names a .js/.ts file or a directory, relative to nimbus.yaml'),
  /** ENV_NAME: secret-name; the values live on the server (PUT /v1/secrets/:name), never in the file. */
  secrets: z
    .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'env names are letters, digits and "_"'), secretName)
    .optional(),
  destinations: z.object({ onSuccess: Destination.optional(), onFailure: Destination.optional() }).strict().optional(),
  aliases: z.record(aliasName, AliasSpec).optional(),
}).strict();
export type FunctionSpec = z.infer<typeof FunctionSpec>;

export const TriggerSpec = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('cron'),
      schedule: z.string().min(1),
      timezone: z.string().optional(),
      function: functionRef,
      event: z.record(z.string(), z.unknown()).optional(),
      catchUp: z.boolean().optional(),
    })
    .strict(),
  z
    .object({
      type: z.literal('topic'),
      topic: z.string().min(1),
      function: functionRef,
      filter: z.record(z.string(), z.unknown()).optional(),
    })
    .strict(),
]);
export type TriggerSpec = z.infer<typeof TriggerSpec>;

export const ProjectSpec = z
  .object({
    namespace: z
      .string()
      .regex(NAMESPACE_NAME, 'use 1-40 lower-case letters, digits or "-", starting with a letter')
      .optional(),
    functions: z
      .record(functionName, FunctionSpec)
      .refine((f) => Object.keys(f).length > 0, 'declare at least one function'),
    triggers: z.record(functionName, TriggerSpec).nullish(),
  })
  .strict();
export type ProjectSpec = z.infer<typeof ProjectSpec>;
