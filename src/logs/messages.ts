// Live log lines on the bus: the invoker publishes each batch of a call's
// lines on the subject of its function (core pub/sub, fire and forget: a lost
// live line is fine, the activation record keeps them all), and a front end
// listens on it while someone follows that function.
import { z } from 'zod';
import type { Bus } from '../bus/bus.ts';
import { LiveLineBatch, type LiveLine } from '../guest/protocol.ts';

export const LiveLogMessage = z.object({
  activationId: z.string(),
  /** The qualified name (tenancy/names.ts): the listener checks it is the function it follows. */
  functionName: z.string(),
  lines: LiveLineBatch,
});
export type LiveLogMessage = z.infer<typeof LiveLogMessage>;

const SAFE = /^[A-Za-z0-9_-]+$/;

/**
 * The subject of one function's lines. A qualified name holds a '/' (ns/name), and a NATS subject
 * token must not hold '.', '*', '>' or spaces: anything outside [A-Za-z0-9_-] is escaped as ~XX.
 */
export function logSubject(qualifiedName: string): string {
  const token = SAFE.test(qualifiedName)
    ? qualifiedName
    : qualifiedName.replace(/[^A-Za-z0-9_-]/g, (c) => `~${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return `nimbus.logs.${token}`;
}

/** Publishes one batch of a running call's lines (never waits, never throws). */
export function publishLiveLines(bus: Bus, activationId: string, functionName: string, lines: LiveLine[]): void {
  if (lines.length === 0) return;
  const message: LiveLogMessage = { activationId, functionName, lines };
  bus.publish(logSubject(functionName), message);
}
