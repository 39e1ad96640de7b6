// The virtio balloon: how much of its RAM the guest may use. QEMU asks the
// guest's balloon driver to take pages (inflate) or give them back (deflate);
// `query-balloon` reports what the guest has actually done, so a target the
// guest cannot reach (memory it cannot free) shows up as a shortfall.
import type { QmpClient } from './qmp.ts';

const MB = 1024 * 1024;

/** The memory the guest has now (boot RAM minus the balloon), MB. */
export async function guestMemoryMb(qmp: QmpClient): Promise<number> {
  const { actual } = await qmp.execute<{ actual: number }>('query-balloon');
  return Math.round(actual / MB);
}

/**
 * Asks for `targetMb` and waits until the guest gets there, or stops moving
 * for `settleMs`, or `timeoutMs` passes; resolves with what the guest has.
 */
export async function setGuestMemory(
  qmp: QmpClient,
  targetMb: number,
  timeoutMs: number,
  settleMs = 3000,
): Promise<number> {
  await qmp.execute('balloon', { value: targetMb * MB });
  const deadline = Date.now() + timeoutMs;
  let last = await guestMemoryMb(qmp);
  let lastChange = Date.now();
  while (last !== targetMb && Date.now() < deadline && Date.now() - lastChange < settleMs) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    const now = await guestMemoryMb(qmp);
    if (now !== last) lastChange = Date.now();
    last = now;
  }
  return last;
}
