import { zoneOffsetMs, zonedTimeToUtc } from '@pipeline/core';

/** Alpha Vantage's intraday months (`month=YYYY-MM`) are calendar months of US/Eastern wall time. */
const AV_ZONE = 'America/New_York';

/**
 * The `month` values one history run needs for bars opening in [from, to): the US/Eastern month
 * holding `from` (skipped when `from` lies after that month's last bar opens), up to the month
 * whose first session opens before `to`. `extendedHours` sets the session: 04:00-20:00 ET, or
 * 09:30-16:00 ET. No month is asked for that cannot hold a bar of the range.
 */
export function avHistoryMonths(
  from: number,
  to: number,
  intervalMs: number,
  extendedHours: boolean,
): string[] {
  if (!(to > from)) return [];
  const sessionStartMin = extendedHours ? 4 * 60 : 9 * 60 + 30;
  const sessionEndMin = extendedHours ? 20 * 60 : 16 * 60;
  // `from` as US/Eastern wall time, read through the UTC getters.
  const wall = new Date(from + zoneOffsetMs(from, AV_ZONE));
  let y = wall.getUTCFullYear();
  let m = wall.getUTCMonth() + 1;
  const next = (): void => {
    if (m === 12) {
      y++;
      m = 1;
    } else m++;
  };
  const lastDay = new Date(Date.UTC(y, m, 0)).getUTCDate();
  const lastBarOpens =
    zonedTimeToUtc({ year: y, month: m, day: lastDay, minute: sessionEndMin }, AV_ZONE) - intervalMs;
  if (from > lastBarOpens) next();
  const out: string[] = [];
  while (zonedTimeToUtc({ year: y, month: m, day: 1, minute: sessionStartMin }, AV_ZONE) < to) {
    out.push(`${y}-${String(m).padStart(2, '0')}`);
    next();
  }
  return out;
}
