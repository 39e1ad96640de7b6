// Trigger changes told to every front end: a trigger made, replaced or deleted
// through any of them makes the others reload their topic index and (on the
// cron leader) their schedules.
import { z } from 'zod';
import type { Bus, Unsubscribe } from '../bus/bus.ts';

export const TRIGGER_CHANGED_SUBJECT = 'nimbus.triggers.changed';

export const TriggerChanged = z.object({
  namespace: z.string().min(1).max(64),
  name: z.string().min(1).max(200),
});
export type TriggerChanged = z.infer<typeof TriggerChanged>;

export function announceTriggerChange(bus: Bus, change: TriggerChanged): Promise<void> {
  return bus.broadcast(TRIGGER_CHANGED_SUBJECT, change);
}

export function onTriggerChanged(bus: Bus, handler: (change: TriggerChanged) => Promise<void>): Promise<Unsubscribe> {
  return bus.listen(TRIGGER_CHANGED_SUBJECT, async (data) => {
    const parsed = TriggerChanged.safeParse(data);
    if (parsed.success) await handler(parsed.data);
  });
}
