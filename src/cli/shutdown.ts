// Closes a running platform once on SIGINT or SIGTERM, then exits: shared by
// `nimbus serve` and `nimbus invoker`.
import type { Platform } from '../platform.ts';

export function closeOnSignals(platform: Platform): void {
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await platform.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}
