// Function changes told to every invoker: when a function is redeployed or
// deleted through any front end, invokers drop what they cache for it (warm
// pools and version records of older versions, or all of them on delete);
// when a secret it uses changes, they recycle its sandboxes.
import { z } from 'zod';
import type { Bus, Unsubscribe } from '../bus/bus.ts';

export const FUNCTION_CHANGED_SUBJECT = 'nimbus.functions.changed';

export const FunctionChanged = z.object({
  name: z.string().min(1).max(200),
  /** The version now current; null when the function was deleted. */
  version: z.number().int().min(1).nullable(),
  /** Its secrets changed: every warm sandbox of it starts again (the new values reach only new sandboxes). */
  recycle: z.boolean().optional(),
});
export type FunctionChanged = z.infer<typeof FunctionChanged>;

export function announceChange(bus: Bus, change: FunctionChanged): Promise<void> {
  return bus.broadcast(FUNCTION_CHANGED_SUBJECT, change);
}

export function onFunctionChanged(bus: Bus, handler: (change: FunctionChanged) => Promise<void>): Promise<Unsubscribe> {
  return bus.listen(FUNCTION_CHANGED_SUBJECT, async (data) => {
    const parsed = FunctionChanged.safeParse(data);
    if (parsed.success) await handler(parsed.data);
  });
}
