import { OptionsError } from '@pipeline/core';

const DAY_MS = 86_400_000;

/**
 * Finds the session a time belongs to: sessions start every day at a local wall-clock time in an
 * IANA time zone (DST-aware). Intl is slow (microseconds), so callers cache the returned bounds and
 * ask again only when a time falls outside them (once per session).
 */
export class SessionCalendar {
  readonly timeZone: string;
  readonly startMinutes: number;
  private readonly fmt: Intl.DateTimeFormat | null;

  constructor(component: string, sessionStart: string, timeZone: string) {
    const m = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(sessionStart);
    if (!m) {
      throw new OptionsError(
        `${component}: option "sessionStart" must be "HH:MM" (00:00-23:59), got ${JSON.stringify(sessionStart)}`,
      );
    }
    this.startMinutes = Number(m[1]) * 60 + Number(m[2]);
    this.timeZone = timeZone;
    if (timeZone === 'UTC') {
      this.fmt = null;
      return;
    }
    try {
      this.fmt = new Intl.DateTimeFormat('en-US', {
        timeZone,
        hourCycle: 'h23',
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
        second: 'numeric',
      });
    } catch (cause) {
      throw new OptionsError(
        `${component}: option "timeZone" must be an IANA time zone, got ${JSON.stringify(timeZone)} (${String(cause)})`,
      );
    }
  }

  /** Offset of local time from UTC at instant `ts`, in ms (local = utc + offset). */
  private offset(ts: number): number {
    if (this.fmt === null) return 0;
    const parts = this.fmt.formatToParts(new Date(ts));
    const get = (type: string): number => Number(parts.find((p) => p.type === type)?.value ?? 0);
    const local = Date.UTC(
      get('year'),
      get('month') - 1,
      get('day'),
      get('hour'),
      get('minute'),
      get('second'),
    );
    return local - (ts - (((ts % 1000) + 1000) % 1000));
  }

  /** UTC instant of local wall time `localMs` (ms since epoch as if the zone were UTC). */
  private toUtc(localMs: number): number {
    // Two rounds settle on the right side of a DST change for any real zone.
    let utc = localMs - this.offset(localMs);
    utc = localMs - this.offset(utc);
    return utc;
  }

  /** Start (inclusive) and end (exclusive) of the session containing `ts`, epoch ms. */
  sessionOf(ts: number): { start: number; end: number } {
    const local = ts + this.offset(ts);
    const localDay = local - (((local % DAY_MS) + DAY_MS) % DAY_MS);
    let startLocal = localDay + this.startMinutes * 60_000;
    if (startLocal > local) startLocal -= DAY_MS;
    const start = this.toUtc(startLocal);
    const end = this.toUtc(startLocal + DAY_MS);
    return { start, end };
  }
}
