// The trading calendars every history store and the sidecar share: which hours a market is open, so
// that closed hours are not counted as gaps. Built on the one time-zone module (./timezone).
import { TIMEFRAME_MS, alignTs, type Timeframe } from './bar';
import { PipelineError } from './errors';
import { type HistoryCalendar } from './history-store';
import { zonedTimeToUtc } from './timezone';

/** Code of the error thrown for an unknown calendar name or a malformed holiday. */
export const CALENDAR_BAD_ARGUMENT = 'CALENDAR_BAD_ARGUMENT';

/** An open trading session, epoch ms, `from` inclusive, `to` exclusive. */
export interface SessionWindow {
  from: number;
  to: number;
}

/**
 * A trading calendar: returns the open sessions that intersect [from, to), sorted by time and not
 * overlapping. Sessions may extend beyond the asked range; callers clip.
 */
export type CalendarFunction = (from: number, to: number) => SessionWindow[];

/** Names of the built-in calendars. */
export const CALENDAR_NAMES = {
  /** Always open: crypto and synthetic data. */
  always: '24x7',
  /** Spot FX and metals: Sunday 22:00 UTC to Friday 22:00 UTC, fixed in UTC (see the README on DST). */
  fx: 'fx',
  /** US equities and indices: weekdays 09:30-16:00 America/New_York, DST-correct; holidays not modelled. */
  usEquity: 'us-equity',
} as const;
/** A built-in calendar's name; the same set as the {@link HistoryCalendar} port type. */
export type CalendarName = (typeof CALENDAR_NAMES)[keyof typeof CALENDAR_NAMES];
// Compile-time check that the names here and the HistoryStore port's calendar names stay one set.
const sameNames: [CalendarName, HistoryCalendar] extends [HistoryCalendar, CalendarName] ? true : never =
  true;
void sameNames;

/** What the store accepts wherever a calendar is asked for. */
export type CalendarSpec = CalendarName | CalendarFunction;

const DAY_MS = 86_400_000;
const WEEK_MS = 7 * DAY_MS;

/** Always open. */
export const alwaysOpenCalendar: CalendarFunction = (from, to) => (to > from ? [{ from, to }] : []);

/**
 * FX week: opens Sunday 22:00 UTC, closes Friday 22:00 UTC. The real FX week follows 17:00 New York,
 * i.e. 21:00 UTC while New York is on summer time; this calendar keeps 22:00 UTC all year (the DST
 * simplification), so in summer the Friday 21:00-22:00 UTC hour counts as expected and the Sunday
 * 21:00-22:00 UTC hour does not.
 */
export const fxCalendar: CalendarFunction = (from, to) => {
  if (!(to > from)) return [];
  // 1970-01-04 was a Sunday; weeks are anchored at Sunday 22:00 UTC.
  const anchor = 3 * DAY_MS + 22 * 3_600_000;
  const openLength = 5 * DAY_MS; // Sun 22:00 .. Fri 22:00
  let weekOpen = anchor + Math.floor((from - anchor) / WEEK_MS) * WEEK_MS;
  const out: SessionWindow[] = [];
  for (; weekOpen < to; weekOpen += WEEK_MS) {
    const close = weekOpen + openLength;
    if (close > from) out.push({ from: weekOpen, to: close });
  }
  return out;
};

/** Options of {@link createUsEquityCalendar}. */
export interface UsEquityCalendarOptions {
  /** Exchange holidays as `YYYY-MM-DD` (New York dates) on which no session is expected. @default [] */
  holidays?: readonly string[];
}

const NEW_YORK = 'America/New_York';

/** Epoch ms of a New York wall-clock time (the session times never fall into a DST jump). */
function newYorkTime(y: number, m: number, d: number, hh: number, mm: number): number {
  return zonedTimeToUtc({ year: y, month: m + 1, day: d, hour: hh, minute: mm }, NEW_YORK);
}

/**
 * US regular session: Monday-Friday 09:30-16:00 America/New_York, DST handled through the IANA time
 * zone database. Holidays are not modelled unless listed; early closes (13:00) are not modelled, so
 * those afternoons show up as gaps that a refetch cannot fill.
 */
export function createUsEquityCalendar(options: UsEquityCalendarOptions = {}): CalendarFunction {
  const holidays = new Set(options.holidays ?? []);
  for (const h of holidays) {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(h)) {
      throw new PipelineError(
        CALENDAR_BAD_ARGUMENT,
        `us-equity calendar: holiday must be YYYY-MM-DD, got ${JSON.stringify(h)}`,
      );
    }
  }
  return (from, to) => {
    if (!(to > from)) return [];
    const out: SessionWindow[] = [];
    // New York dates are within a day of UTC dates; walk one day either side.
    for (let day = alignTs(from, '1d') - DAY_MS; day < to + DAY_MS; day += DAY_MS) {
      const date = new Date(day);
      const weekday = date.getUTCDay();
      if (weekday === 0 || weekday === 6) continue;
      const y = date.getUTCFullYear();
      const m = date.getUTCMonth();
      const d = date.getUTCDate();
      if (holidays.has(date.toISOString().slice(0, 10))) continue;
      const open = newYorkTime(y, m, d, 9, 30);
      const close = newYorkTime(y, m, d, 16, 0);
      if (close > from && open < to) out.push({ from: open, to: close });
    }
    return out;
  };
}

const usEquityDefault = createUsEquityCalendar();

/** Turns a calendar name or function into a function; throws CALENDAR_BAD_ARGUMENT for unknown names. */
export function resolveCalendar(spec: CalendarSpec): CalendarFunction {
  if (typeof spec === 'function') return spec;
  switch (spec) {
    case '24x7':
      return alwaysOpenCalendar;
    case 'fx':
      return fxCalendar;
    case 'us-equity':
      return usEquityDefault;
    default:
      throw new PipelineError(
        CALENDAR_BAD_ARGUMENT,
        `unknown calendar ${JSON.stringify(spec)}; use '24x7', 'fx', 'us-equity' or a function`,
      );
  }
}

export function isCalendarSpec(value: unknown): value is CalendarSpec {
  return typeof value === 'function' || (Object.values(CALENDAR_NAMES) as unknown[]).includes(value);
}

/**
 * Open times of the bars a calendar expects in [from, to), ascending, without repeats. A bar is
 * expected when its interval [ts, ts + timeframe) overlaps an open session, so an hourly bar that
 * contains 09:30 New York counts, and a daily FX bar exists for Sunday (22:00-24:00 UTC is open).
 */
export function* expectedBarTimes(
  calendar: CalendarFunction,
  timeframe: Timeframe,
  from: number,
  to: number,
): Generator<number> {
  const step = TIMEFRAME_MS[timeframe];
  const first = alignTs(from, timeframe) === from ? from : alignTs(from, timeframe) + step;
  let last = -Infinity;
  for (const s of calendar(first, to)) {
    let ts = Math.max(first, alignTs(s.from, timeframe));
    for (; ts < to && ts < s.to; ts += step) {
      if (ts > last) {
        last = ts;
        yield ts;
      }
    }
  }
}
