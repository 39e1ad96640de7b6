// Typed platform errors: one string code per failure, whether the user or the
// platform is at fault, and whether retrying can help. The HTTP mapping lives in
// src/frontend/http-errors.ts and nowhere else.

export const ERROR_CODES = [
  'bad_request', // malformed input: JSON, names, config values
  'compile_error', // the function's code does not build
  'bad_archive', // zip/tar rejected (slip, symlink, bomb, corrupt)
  'unauthorized', // missing, wrong or revoked API key
  'forbidden', // the key's role does not allow the operation
  'bad_host', // a Host header a loopback front end does not answer (DNS rebinding guard)
  'not_found', // unknown function, activation or sandbox
  'method_not_allowed', // a known path, asked with a method it does not serve
  'conflict', // state does not allow the operation
  'payload_too_large', // request body over the limit
  'uri_too_long', // request target (path and query) over the limit
  'headers_too_large', // request line and headers over the HTTP parser's limit
  'request_timeout', // the client did not finish sending its request in time
  'throttled', // wait queue full
  'function_error', // the function threw or returned an error
  'function_crashed', // the sandbox died (process.exit, signal, broken channel)
  'memory_exhausted', // the function went over its memory
  'result_too_large', // the function returned more than the result cap
  'timeout', // the function ran past its timeout
  'unavailable', // a platform part (invoker, bus, store) cannot be reached
  'not_supported', // the engine lacks a capability
  'internal', // a platform bug
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface ErrorDetails {
  retryAfterSeconds?: number;
  activationId?: string;
  stack?: string;
  [key: string]: unknown;
}

export class NimbusError extends Error {
  readonly code: ErrorCode;
  readonly details: ErrorDetails;
  readonly retryable: boolean;

  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}, retryable?: boolean) {
    super(message);
    this.name = 'NimbusError';
    this.code = code;
    this.details = details;
    this.retryable = retryable ?? RETRYABLE.has(code);
  }

  toJSON(): { code: ErrorCode; message: string } & ErrorDetails {
    return { code: this.code, message: this.message, ...this.details };
  }
}

const RETRYABLE = new Set<ErrorCode>([
  'throttled',
  'unavailable',
  'function_crashed',
  'timeout',
  'memory_exhausted',
  'function_error',
]);

/** Error codes that mean the function (not the caller, not the platform) failed. */
export const FUNCTION_FAILURES = new Set<ErrorCode>([
  'function_error',
  'function_crashed',
  'memory_exhausted',
  'result_too_large',
  'timeout',
]);

export function isNimbusError(e: unknown): e is NimbusError {
  return e instanceof NimbusError;
}

/** Rebuilds a NimbusError from its JSON form (crossing the bus or a pipe). */
export function errorFromJSON(json: { code?: unknown; message?: unknown } & Record<string, unknown>): NimbusError {
  const code = (ERROR_CODES as readonly string[]).includes(String(json.code)) ? (json.code as ErrorCode) : 'internal';
  const { code: _c, message, ...details } = json;
  return new NimbusError(code, typeof message === 'string' ? message : 'unknown error', details);
}
