import { OptionsError, isKnownTimeZone, zonedDayBounds } from '@pipeline/core';

/**
 * Finds the session a time belongs to: sessions start every day at a local wall-clock time in an
 * IANA time zone (DST-aware). The time-zone arithmetic is `@pipeline/core`'s one module
 * (`zonedDayBounds`; its rule for start times in a skipped or repeated hour applies); this class only
 * validates the options. Intl is slow (microseconds), so callers cache the returned bounds and ask
 * again only when a time falls outside them (once per session).
 */
export class SessionCalendar {
  readonly timeZone: string;
  readonly startMinutes: number;

  constructor(component: string, sessionStart: string, timeZone: string) {
    const m = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(sessionStart);
    if (!m) {
      throw new OptionsError(
        `${component}: option "sessionStart" must be "HH:MM" (00:00-23:59), got ${JSON.stringify(sessionStart)}`,
      );
    }
    if (!isKnownTimeZone(timeZone)) {
      throw new OptionsError(
        `${component}: option "timeZone" must be an IANA time zone, got ${JSON.stringify(timeZone)}`,
      );
    }
    this.startMinutes = Number(m[1]) * 60 + Number(m[2]);
    this.timeZone = timeZone;
  }

  /** Start (inclusive) and end (exclusive) of the session containing `ts`, epoch ms. */
  sessionOf(ts: number): { start: number; end: number } {
    return zonedDayBounds(ts, this.timeZone, this.startMinutes);
  }
}
