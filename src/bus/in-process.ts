// A request answered by a handler in this same process: the embedded bus's
// only kind, and the NATS bus's for subjects this process serves itself (an
// invoker node running an async call it took from the queue). The data is
// handed over as it is (receivers validate it and never change it); what the
// caller sees of a failure is what it would see over a wire: a NimbusError,
// its own or `internal`, and `unavailable` when no reply comes in time.
import { NimbusError, errorFromJSON, isNimbusError } from '../shared/errors.ts';

export type RequestHandler = (data: unknown) => Promise<unknown>;

export function answerInProcess(
  handler: RequestHandler,
  data: unknown,
  subject: string,
  timeoutMs: number,
): Promise<unknown> {
  let handled: Promise<unknown>;
  try {
    handled = handler(data);
  } catch (e) {
    handled = Promise.reject(e); // a handler that throws before its first await
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new NimbusError('unavailable', `no reply on ${subject} within ${timeoutMs} ms`)),
      timeoutMs,
    );
    handled.then(
      (reply) => {
        clearTimeout(timer);
        resolve(reply);
      },
      (e: unknown) => {
        clearTimeout(timer);
        // As over a wire: the error's JSON form, so no caller holds the handler's own object.
        const err = isNimbusError(e) ? e : new NimbusError('internal', e instanceof Error ? e.message : String(e));
        reject(errorFromJSON(JSON.parse(JSON.stringify(err.toJSON()))));
      },
    );
  });
}
