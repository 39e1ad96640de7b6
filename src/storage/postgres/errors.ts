// Which PostgreSQL failures mean "the database cannot be reached" (→ the
// platform's `unavailable`, HTTP 503) rather than a bug or a bad statement.
import { NimbusError, isNimbusError } from '../../shared/errors.ts';

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);
// SQLSTATE: 08 connection exception; 57P01-57P03 shutdown/cannot connect now; 53300 too many connections.
const UNAVAILABLE_STATES = /^(08...|57P0[1-3]|53300)$/;
const UNAVAILABLE_MESSAGES =
  /timeout exceeded when trying to connect|Connection terminated|Query read timeout|connection timeout|Client has encountered a connection error|Connection terminated unexpectedly|the database system is (starting up|shutting down)/i;

export function isUnavailable(e: unknown): boolean {
  const err = e as { code?: unknown; message?: unknown };
  const code = typeof err?.code === 'string' ? err.code : '';
  return (
    NETWORK_CODES.has(code) || UNAVAILABLE_STATES.test(code) || UNAVAILABLE_MESSAGES.test(String(err?.message ?? ''))
  );
}

/** Rethrows connection trouble as `unavailable`; anything else unchanged. */
export function translate(e: unknown): never {
  if (isNimbusError(e)) throw e;
  if (isUnavailable(e)) throw new NimbusError('unavailable', `the database is unreachable: ${(e as Error).message}`);
  throw e;
}
