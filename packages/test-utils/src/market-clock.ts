// Clocks for tests that run in real time (real timers, real HTTP, real Redis) but must not depend on
// the weekday they run on: a market that closes at the weekend (FX Friday 22:00 to Sunday 22:00 UTC)
// has no gap to bootstrap on a Saturday. Such a test runs on the wall clock shifted back by whole
// days (time of day kept) to the latest instant at which the market was open over the whole window
// the test looks at, and hands that one clock to everything: the service, the provider servers and
// its own expectations.
import { fxCalendar, systemClock, type CalendarFunction, type Scheduler } from '@pipeline/core';

const DAY_MS = 86_400_000;

/** A {@link Scheduler} running in real time, a whole number of days behind the wall clock. */
export interface ShiftedClock extends Scheduler {
  /** Whole days this clock runs behind the wall clock (0: it is the wall clock). */
  readonly shiftDays: number;
}

/**
 * The wall clock (`Date.now()`, read on every call) less `days` whole days; timers are Node's
 * (unref'd, as `systemClock`'s), since a delay means the same on both clocks.
 */
export function shiftedClock(days: number): ShiftedClock {
  if (!Number.isInteger(days) || days < 0) {
    throw new RangeError(`shiftedClock: days must be a non-negative integer, got ${days}`);
  }
  const offset = days * DAY_MS;
  return Object.freeze({
    shiftDays: days,
    now: () => Date.now() - offset,
    setTimeout: (fn: () => void, ms: number) => systemClock.setTimeout(fn, ms),
  });
}

/** Options of {@link openMarketShiftDays} and {@link openMarketClock}. */
export interface OpenMarketClockOptions {
  /** How long before "now" the market must have been open, ms (e.g. BOOTSTRAP_DAYS x 1 day). */
  lookbackMs: number;
  /** How long after "now" it must stay open: the test's own run time. @default 3_600_000 (1 hour) */
  aheadMs?: number;
  /** The market's trading calendar (core's). @default fxCalendar (FX and metals) */
  calendar?: CalendarFunction;
  /** The wall-clock instant to start from. @default Date.now() */
  now?: number;
  /** Gives up (RangeError) when no shift up to this many days fits. @default 14 */
  maxDays?: number;
}

/** True when `calendar`'s sessions, adjacent ones joined, cover [from, to) without a break. */
function coveredWithoutBreak(calendar: CalendarFunction, from: number, to: number): boolean {
  let reached = from;
  for (const s of calendar(from, to)) {
    if (s.from > reached) return false;
    reached = Math.max(reached, s.to);
    if (reached >= to) return true;
  }
  return reached >= to;
}

/**
 * The fewest whole days (0 when today already fits) to shift the wall clock back so that the market
 * is open from `lookbackMs` before the shifted now to `aheadMs` after it, without a break.
 */
export function openMarketShiftDays(options: OpenMarketClockOptions): number {
  const { lookbackMs, aheadMs = 3_600_000, calendar = fxCalendar, maxDays = 14 } = options;
  const now = options.now ?? Date.now();
  for (let days = 0; days <= maxDays; days++) {
    const t = now - days * DAY_MS;
    if (coveredWithoutBreak(calendar, t - lookbackMs, t + aheadMs)) return days;
  }
  throw new RangeError(
    `openMarketShiftDays: the market is not open for ${lookbackMs} ms before and ${aheadMs} ms after ` +
      `any instant within ${maxDays} days before ${new Date(now).toISOString()}`,
  );
}

/**
 * A real-time clock at which the market has been open over the last `lookbackMs` and stays open for
 * `aheadMs`: the wall clock itself on most weekdays, else the wall clock shifted back by whole days
 * (e.g. for FX with a 1-day lookback, Saturday 00:30 UTC becomes Friday 00:30 UTC and Monday
 * 10:00 UTC becomes Friday 10:00 UTC).
 */
export function openMarketClock(options: OpenMarketClockOptions): ShiftedClock {
  return shiftedClock(openMarketShiftDays(options));
}
