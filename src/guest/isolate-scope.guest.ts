// Which activation an isolate is running right now. V8 alone has no async
// context, so the runtime attributes every entry from the pool (a call, a
// timer, a fetch answer) to the activation that caused it; microtasks run at
// the end of that same entry and inherit it.
import type { LogBuffer } from './log-buffer.guest.ts';

export interface Activation {
  id: string;
  deadline: number;
  logs: LogBuffer;
  /** Set once the call has answered: its timers and fetches are dropped. */
  ended: boolean;
  /** Fails the call with an error thrown where no caller could catch it (a timer callback). */
  fail: (error: unknown) => void;
}

export const scope: { current: Activation | undefined; loading: LogBuffer | undefined } = {
  current: undefined,
  loading: undefined,
};

/** The activation that work started now belongs to, if it is still running. */
export function liveActivation(): Activation | undefined {
  const a = scope.current;
  return a && !a.ended ? a : undefined;
}

/** Where console output goes now: the running activation's log, the module load's, or nowhere. */
export function activeLogs(): LogBuffer | undefined {
  return liveActivation()?.logs ?? scope.loading;
}
