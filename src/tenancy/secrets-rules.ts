// What a secret may be called and hold, shared by the secrets API and the
// function config that maps env names to secret names. A name follows the
// function-name rule (letters, digits, "-" and "_", starting with a letter):
// it is a URL segment and never needs quoting. A value reaches a sandbox as
// an environment variable, so it is text without NUL, at most 64 KB.
import { NimbusError } from '../shared/errors.ts';

export const SECRET_NAME = /^[a-zA-Z][a-zA-Z0-9_-]{0,63}$/;
export const SECRET_NAME_RULE = '1-64 letters, digits, "-" or "_", starting with a letter';
/** Largest secret value, bytes of UTF-8 (413 above). */
export const SECRET_VALUE_LIMIT_BYTES = 64 * 1024;

export function checkSecretName(name: string): string {
  if (!SECRET_NAME.test(name))
    throw new NimbusError('bad_request', `invalid secret name "${name.slice(0, 80)}": use ${SECRET_NAME_RULE}`);
  return name;
}

/** Checks a value without ever quoting it: errors name the secret only. */
export function checkSecretValue(name: string, value: unknown): string {
  if (typeof value !== 'string')
    throw new NimbusError('bad_request', `secret "${name}" needs a body {"value": "<text>"} with a string value`);
  const bytes = Buffer.byteLength(value, 'utf8');
  if (bytes > SECRET_VALUE_LIMIT_BYTES)
    throw new NimbusError(
      'payload_too_large',
      `secret "${name}" is ${bytes} bytes; a secret holds at most ${SECRET_VALUE_LIMIT_BYTES} bytes (64 KB)`,
    );
  if (value.includes('\0'))
    throw new NimbusError(
      'bad_request',
      `secret "${name}" contains a NUL character (\\u0000); it reaches functions as an environment variable, which cannot hold one`,
    );
  return value;
}
