import { type IBackoff, type IBackoffFactory } from 'cockatiel';
import { type Clock } from '@pipeline/core';

/** When an open circuit opened and may be probed, on the injected clock. */
export interface OpenWindow {
  openedAt: number;
  probeAt: number;
}

/**
 * cockatiel's CircuitBreakerPolicy decides "may I probe yet?" as
 * `Date.now() - openedAt < backoff.duration`, reading the wall clock itself. This backoff makes
 * that decision follow the injected clock instead: its `duration` is -Infinity once the clock has
 * reached the probe time (the comparison is then false whatever Date.now() says) and +Infinity
 * before (always true). cockatiel asks the factory for a fresh backoff every time the circuit
 * opens, which is where the open window is stamped and reported.
 */
export class ClockProbeBackoff implements IBackoffFactory<unknown> {
  private restoring: OpenWindow | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly halfOpenAfterMs: number,
    private readonly onOpen: (window: OpenWindow) => void,
  ) {}

  /** The next `next()` call (cockatiel hydrating a saved open state) reuses this window. */
  primeRestore(window: OpenWindow): void {
    this.restoring = window;
  }

  next(): IBackoff<unknown> {
    let window: OpenWindow;
    if (this.restoring) {
      window = this.restoring;
      this.restoring = undefined;
    } else {
      const openedAt = this.clock.now();
      window = { openedAt, probeAt: openedAt + this.halfOpenAfterMs };
    }
    this.onOpen(window);
    const clock = this.clock;
    return {
      get duration(): number {
        return clock.now() >= window.probeAt ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
      },
      next: () => this.next(),
    };
  }
}
