// Admission control: the invoker's platform-wide caps on how many sandboxes it
// runs and how much memory they are given together (maxSandboxesTotal,
// sandboxMemoryTotalMb), so that no deploy, burst or pre-warm can drive the host
// out of memory. Every sandbox creation reserves a ticket here before the
// driver starts anything, and gives it back once the sandbox is gone (or its
// start failed). Warm calls never come here: only creations and resizes do.
import { NimbusError } from '../shared/errors.ts';

export interface CapacityLimits {
  maxSandboxesTotal: number;
  sandboxMemoryTotalMb: number;
}

/** One admitted sandbox's share of the caps. */
export interface Ticket {
  readonly memoryMb: number;
  /** Gives the share back; calling it again does nothing. */
  release(): void;
  /**
   * Changes the memory this sandbox holds (a resize): a throttled error when a
   * larger size does not fit. Returns a function that undoes the change.
   */
  resize(memoryMb: number): () => void;
}

/** Evicts one idle sandbox that does not belong to `exceptKey`, waiting until it is gone; false when there is none. */
export type Evictor = (exceptKey: string) => Promise<boolean>;

/** Seconds a refused caller is told to wait: idle sandboxes and finished calls free room within about that. */
const RETRY_AFTER_SECONDS = 1;

export class Capacity {
  private sandboxes = 0;
  private memoryMb = 0;

  constructor(
    readonly limits: CapacityLimits,
    private readonly evictor?: Evictor,
  ) {}

  /** What is admitted now, beside the caps (for GET /v1/sandboxes and metrics). */
  usage(): { sandboxes: number; memoryMb: number } & CapacityLimits {
    const { maxSandboxesTotal, sandboxMemoryTotalMb } = this.limits;
    return { sandboxes: this.sandboxes, memoryMb: this.memoryMb, maxSandboxesTotal, sandboxMemoryTotalMb };
  }

  /**
   * A ticket for one sandbox of `memoryMb` for the pool `key`. With `evict`, idle
   * sandboxes of other functions (least recently used first) are disposed to
   * make room before the caller is refused with a throttled error naming the cap.
   */
  async admit(memoryMb: number, key: string, evict: boolean): Promise<Ticket> {
    for (;;) {
      const ticket = this.tryAdmit(memoryMb);
      if (ticket) return ticket;
      if (!evict || !this.evictor || !(await this.evictor(key))) throw this.refusal(memoryMb);
    }
  }

  /** A ticket if one sandbox of `memoryMb` fits now; never waits, never evicts. */
  tryAdmit(memoryMb: number): Ticket | undefined {
    if (
      this.sandboxes + 1 > this.limits.maxSandboxesTotal ||
      this.memoryMb + memoryMb > this.limits.sandboxMemoryTotalMb
    )
      return undefined;
    this.sandboxes++;
    this.memoryMb += memoryMb;
    return this.ticket(memoryMb);
  }

  private ticket(initialMb: number): Ticket {
    let held = initialMb;
    let released = false;
    const capacity = this;
    return {
      get memoryMb() {
        return held;
      },
      release() {
        if (released) return;
        released = true;
        capacity.sandboxes--;
        capacity.memoryMb -= held;
      },
      resize(memoryMb: number) {
        const before = held;
        if (released) return () => undefined;
        const growth = memoryMb - held;
        if (growth > 0 && capacity.memoryMb + growth > capacity.limits.sandboxMemoryTotalMb)
          throw capacity.refusal(memoryMb, growth);
        capacity.memoryMb += growth;
        held = memoryMb;
        return () => {
          if (released || held !== memoryMb) return;
          capacity.memoryMb += before - held;
          held = before;
        };
      },
    };
  }

  /** The 429 that names the cap which is full, its value and how to change it. */
  private refusal(memoryMb: number, growth = memoryMb): NimbusError {
    const { maxSandboxesTotal, sandboxMemoryTotalMb } = this.limits;
    const details = { retryAfterSeconds: RETRY_AFTER_SECONDS, cap: '', limit: 0 };
    if (growth === memoryMb && this.sandboxes + 1 > maxSandboxesTotal) {
      return new NimbusError(
        'throttled',
        `this invoker already runs its maximum of ${maxSandboxesTotal} sandboxes (maxSandboxesTotal = ${maxSandboxesTotal}); retry later, or raise maxSandboxesTotal (--max-sandboxes-total)`,
        { ...details, cap: 'maxSandboxesTotal', limit: maxSandboxesTotal },
      );
    }
    return new NimbusError(
      'throttled',
      `sandboxes on this invoker are given ${this.memoryMb} MB of sandboxMemoryTotalMb = ${sandboxMemoryTotalMb} MB; ${growth} MB more for a ${memoryMb} MB sandbox does not fit; retry later, or raise sandboxMemoryTotalMb (--sandbox-memory-total-mb)`,
      { ...details, cap: 'sandboxMemoryTotalMb', limit: sandboxMemoryTotalMb },
    );
  }
}
