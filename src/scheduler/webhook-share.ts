// A namespace's share of a process's async queue slots while it has webhook
// destinations. In cluster mode a process runs a fixed number of queue
// messages at once (the NATS bus's `concurrency`), and a webhook destination is
// delivered while its message is held (so that a crash delivers it again): a
// webhook that never answers holds a slot for 4 attempts of 10 s. Without a
// share, one namespace's async calls of such a function could hold every slot
// and stall every other namespace's async calls. A message over its
// namespace's share is put back for later before it runs, as a call over
// maxConcurrent is. The in-process bus has no slot cap, so no share there.
import { parseNatsUrl } from '../bus/nats/options.ts';
import type { VersionRecord } from '../storage/store.ts';
import { splitQualified } from '../tenancy/names.ts';

export class WebhookShare {
  private readonly held = new Map<string, number>();

  constructor(readonly perNamespace: number) {}

  /** A quarter of the bus's slots per namespace (at least one) on NATS; no share in process. */
  static forBus(bus: string | undefined): WebhookShare {
    if (bus === undefined || bus === 'memory') return new WebhookShare(Infinity);
    try {
      return new WebhookShare(Math.max(1, Math.floor(parseNatsUrl(bus).options.concurrency / 4)));
    } catch {
      return new WebhookShare(Infinity); // the bus itself refuses a URL it cannot read
    }
  }

  /**
   * Takes a place of the function's namespace when the function has a webhook
   * destination: the release (a no-op when it needs none), or null when the
   * namespace holds its share.
   */
  take(fn: Pick<VersionRecord, 'name' | 'config'>): (() => void) | null {
    const d = fn.config.destinations;
    if (this.perNamespace === Infinity || !d || !Object.values(d).some((t) => t && 'url' in t)) return () => undefined;
    const { namespace } = splitQualified(fn.name);
    const now = this.held.get(namespace) ?? 0;
    if (now >= this.perNamespace) return null;
    this.held.set(namespace, now + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.held.get(namespace) ?? 1) - 1;
      if (left > 0) this.held.set(namespace, left);
      else this.held.delete(namespace);
    };
  }
}
