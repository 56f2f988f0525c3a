/** Where time comes from. Everything time-based takes one, so tests never sleep. */
export interface Clock {
  /** Current time, Unix epoch milliseconds. */
  now(): number;
}

/** A timer handle returned by a {@link Scheduler}. */
export interface TimerHandle {
  /** Cancels the timer; calling it twice is harmless. */
  cancel(): void;
}

/** Schedules callbacks. Real timers are unref'd so they never keep a process alive on their own. */
export interface Scheduler extends Clock {
  setTimeout(fn: () => void, ms: number): TimerHandle;
}

/** The wall clock and Node's timers (unref'd). */
export const systemClock: Scheduler = Object.freeze({
  now: () => Date.now(),
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const t = setTimeout(fn, Math.max(0, ms));
    t.unref();
    return { cancel: () => clearTimeout(t) };
  },
});

/**
 * A clock that only moves when told to. `advance(ms)` fires due timers in time order, each seeing
 * `now()` equal to its due time. `pendingTimers` lets tests assert that nothing leaks.
 */
export class ManualClock implements Scheduler {
  private current: number;
  private seq = 0;
  private readonly timers = new Map<number, { at: number; fn: () => void }>();

  constructor(start = Date.UTC(2024, 0, 2, 0, 0, 0)) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = ++this.seq;
    this.timers.set(id, { at: this.current + Math.max(0, ms), fn });
    return { cancel: () => void this.timers.delete(id) };
  }

  /** Moves time forward, firing every timer that falls due on the way. */
  advance(ms: number): void {
    const target = this.current + ms;
    for (;;) {
      let nextId = -1;
      let timer: { at: number; fn: () => void } | undefined;
      for (const [id, t] of this.timers) {
        if (
          t.at <= target &&
          (timer === undefined || t.at < timer.at || (t.at === timer.at && id < nextId))
        ) {
          timer = t;
          nextId = id;
        }
      }
      if (timer === undefined) break;
      this.timers.delete(nextId);
      this.current = Math.max(this.current, timer.at);
      timer.fn();
    }
    this.current = target;
  }

  /** Sets the time (never backwards) without firing timers beyond it. */
  set(ts: number): void {
    if (ts < this.current) throw new RangeError(`ManualClock cannot go back from ${this.current} to ${ts}`);
    this.advance(ts - this.current);
  }

  get pendingTimers(): number {
    return this.timers.size;
  }
}
