import { systemClock, type Scheduler } from '@pipeline/core';

/**
 * The wall clock with a movable offset: real timers (so hung sockets, breaker timeouts and HTTP run
 * for real) but a test can jump past a breaker's 60 s half-open wait or a 120 s Retry-After without
 * sleeping. Give the same clock to the service and to the provider servers so both agree on "now".
 */
export interface ShiftableClock extends Scheduler {
  /** Moves `now()` forward by `ms`. */
  advance(ms: number): void;
}

export function createShiftableClock(): ShiftableClock {
  let offset = 0;
  return {
    now: () => Date.now() + offset,
    setTimeout: (fn, ms) => systemClock.setTimeout(fn, ms),
    advance(ms) {
      offset += ms;
    },
  };
}
