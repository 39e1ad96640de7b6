// Small helpers of the security tests that watch sandboxes through the API:
// a bounded poll, and a sandbox as GET /v1/sandboxes lists it.

/** A sandbox row of GET /v1/sandboxes (the fields these tests read). */
export interface ListedSandbox {
  id: string;
  functionName: string;
  namespace: string;
  state: string;
}

/** Probes every half second until it returns a value; fails after `tries`. */
export async function until<T>(what: string, probe: () => Promise<T | undefined>, tries = 240): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const hit = await probe();
    if (hit !== undefined) return hit;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`timed out waiting for ${what}`);
}
