// What a function's `destinations` config may say, checked at deploy: each of
// onSuccess and onFailure is {function}, {topic} or {url, secret?}. A webhook
// URL is http(s) with a host; its `secret` names a nimbus secret of the
// namespace (PUT /v1/secrets/:name), never the key itself, so that the key is
// encrypted at rest and absent from every answer that shows the config.
import { z } from 'zod';
import { SECRET_NAME, SECRET_NAME_RULE } from '../tenancy/secrets-rules.ts';
import { STEP_REF } from './sequence-spec.ts';

/** Topic names: what a URL segment and a NATS subject token can both hold. */
export const TOPIC_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_-]{0,127}$/;

const WebhookUrl = z
  .string()
  .max(2048)
  .refine((u) => {
    try {
      const url = new URL(u);
      return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
    } catch {
      return false;
    }
  }, 'a webhook url must be an absolute http:// or https:// URL, e.g. https://example.com/hook')
  // Credentials in the URL would show in every answer that shows the config and in each
  // failed attempt's error; the fetch refuses them anyway. A secret signs the body instead.
  .refine((u) => {
    const url = URL.parse(u);
    return url === null || (url.username === '' && url.password === '');
  }, 'a webhook url must not hold a user or password (they would show in the config); name a secret to sign the body');

const Target = z.union([
  z.object({ function: z.string().regex(STEP_REF, 'function must be a name, name:version or name:alias') }).strict(),
  z.object({ topic: z.string().regex(TOPIC_NAME, 'topic must be 1-128 letters, digits, "-" or "_"') }).strict(),
  z
    .object({
      url: WebhookUrl,
      secret: z
        .string()
        .regex(SECRET_NAME, `secret names a nimbus secret (PUT /v1/secrets/:name): ${SECRET_NAME_RULE}`)
        .optional(),
    })
    .strict(),
]);

export const DestinationsSpec = z.object({ onSuccess: Target.optional(), onFailure: Target.optional() }).strict();
