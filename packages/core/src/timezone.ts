/**
 * The one time-zone conversion of the @pipeline packages: wall-clock time in an IANA zone <-> UTC epoch
 * ms, with the zone rules built into Node's Intl (no tz database of our own). Fetchers read provider
 * time stamps with it, features anchor sessions with it, the trading calendars place sessions with it.
 *
 * The rule for wall times that do not map to exactly one instant (the same as Temporal's
 * `disambiguation: 'compatible'`, and as `java.time`'s and date-fns-tz's defaults):
 * - a wall time that occurs twice (the repeated hour when clocks go back) maps to its FIRST occurrence,
 *   i.e. the one still on summer time; {@link zonedTimeToUtcCandidates} returns both;
 * - a wall time that never occurs (the hour skipped when clocks go forward) is read with the offset in
 *   force before the jump, so it lands that far after the jump: 02:30 New York on a spring-forward
 *   night -> 03:30 EDT (07:30 UTC).
 */

const DAY_MS = 86_400_000;

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (f === undefined) {
    // Throws RangeError for an unknown zone; callers that take a zone from options check it first
    // with isKnownTimeZone / assertTimeZone.
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

function isUtc(timeZone: string): boolean {
  return timeZone === 'UTC' || timeZone === 'Etc/UTC';
}

/** A wall-clock time: calendar fields as a clock on the wall in some zone shows them. */
export interface WallFields {
  year: number;
  /** 1..12 */
  month: number;
  /** 1..31 */
  day: number;
  /** 0..23 @default 0 */
  hour?: number;
  /** @default 0 */
  minute?: number;
  /** @default 0 */
  second?: number;
}

/** A wall-clock time with every field set, as {@link zonedWallClock} returns it. */
export interface WallClock {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  /** 0 = Sunday .. 6 = Saturday, of the local date. */
  weekday: number;
}

/**
 * Offset of `timeZone` from UTC at the instant `utcMs`, in ms (local = utc + offset; New York in
 * winter: -5 h). Throws RangeError for a zone this runtime does not know.
 */
export function zoneOffsetMs(utcMs: number, timeZone: string): number {
  if (isUtc(timeZone)) return 0;
  const parts = formatterFor(timeZone).formatToParts(new Date(utcMs));
  let year = 0;
  let month = 1;
  let day = 1;
  let hour = 0;
  let minute = 0;
  let second = 0;
  for (const p of parts) {
    switch (p.type) {
      case 'year':
        year = Number(p.value);
        break;
      case 'month':
        month = Number(p.value);
        break;
      case 'day':
        day = Number(p.value);
        break;
      case 'hour':
        hour = Number(p.value);
        break;
      case 'minute':
        minute = Number(p.value);
        break;
      case 'second':
        second = Number(p.value);
        break;
      default:
        break;
    }
  }
  const asUtc = Date.UTC(year, month - 1, day, hour, minute, second);
  // formatToParts drops milliseconds; compare whole seconds.
  return asUtc - (utcMs - (((utcMs % 1000) + 1000) % 1000));
}

/** True when `timeZone` is an IANA zone name this runtime knows. */
export function isKnownTimeZone(timeZone: string): boolean {
  if (typeof timeZone !== 'string' || timeZone === '') return false;
  try {
    formatterFor(timeZone);
    return true;
  } catch {
    return false;
  }
}

/**
 * The wall clock read as if it were UTC, in epoch ms: `utcMs + offset`. Day arithmetic on this value
 * (floor to a day, add minutes) is wall-clock arithmetic; {@link wallMsToUtc} converts back.
 */
export function utcToWallMs(utcMs: number, timeZone: string): number {
  return utcMs + zoneOffsetMs(utcMs, timeZone);
}

/** The wall-clock fields (and weekday) that `timeZone` shows at the instant `utcMs`. */
export function zonedWallClock(utcMs: number, timeZone: string): WallClock {
  const d = new Date(utcToWallMs(utcMs, timeZone));
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    second: d.getUTCSeconds(),
    weekday: d.getUTCDay(),
  };
}

/**
 * Every UTC instant whose wall clock in `timeZone` reads `wallMs` (a wall time as if it were UTC),
 * earliest first: one normally, two in a repeated (fall-back) hour, and for a skipped (spring-forward)
 * wall time the one instant of the documented rule (module comment).
 */
export function wallMsToUtcCandidates(wallMs: number, timeZone: string): [number, ...number[]] {
  if (isUtc(timeZone)) return [wallMs];
  // Offsets a day either side bracket any single transition near `wallMs` (zones change at most
  // twice a year, never twice within two days).
  const offsetBefore = zoneOffsetMs(wallMs - DAY_MS, timeZone);
  const offsetAfter = zoneOffsetMs(wallMs + DAY_MS, timeZone);
  if (offsetBefore === offsetAfter) {
    const utc = wallMs - offsetBefore;
    // Same offset both sides but a transition could still sit in between (rare double changes);
    // verify and fall back to the offset actually in force.
    const actual = zoneOffsetMs(utc, timeZone);
    return actual === offsetBefore ? [utc] : [wallMs - actual];
  }
  const candidateBefore = wallMs - offsetBefore; // read with the pre-transition offset
  const candidateAfter = wallMs - offsetAfter; // read with the post-transition offset
  const before = zoneOffsetMs(candidateBefore, timeZone) === offsetBefore;
  const after = candidateAfter !== candidateBefore && zoneOffsetMs(candidateAfter, timeZone) === offsetAfter;
  if (before && after) {
    return candidateBefore < candidateAfter
      ? [candidateBefore, candidateAfter]
      : [candidateAfter, candidateBefore];
  }
  if (after) return [candidateAfter];
  return [candidateBefore]; // the valid one, or a skipped wall time: the pre-jump offset
}

/** The UTC instant of a wall time given as ms-as-if-UTC; the documented rule picks one of two. */
export function wallMsToUtc(wallMs: number, timeZone: string): number {
  return wallMsToUtcCandidates(wallMs, timeZone)[0];
}

function fieldsToWallMs(fields: WallFields): number {
  return Date.UTC(
    fields.year,
    fields.month - 1,
    fields.day,
    fields.hour ?? 0,
    fields.minute ?? 0,
    fields.second ?? 0,
  );
}

/**
 * Every UTC instant that shows the wall-clock time `fields` in `timeZone`, earliest first: one
 * normally, two in a repeated fall-back hour. A wall time skipped by a spring-forward gets the one
 * instant it would have had without the jump (02:30 New York on a spring-forward night -> 03:30 EDT).
 */
export function zonedTimeToUtcCandidates(fields: WallFields, timeZone: string): [number, ...number[]] {
  return wallMsToUtcCandidates(fieldsToWallMs(fields), timeZone);
}

/**
 * The UTC instant of a wall-clock time in `timeZone`. A repeated (fall-back) wall time maps to its
 * FIRST occurrence; use {@link zonedTimeToUtcCandidates} where the sequence tells which one is meant.
 */
export function zonedTimeToUtc(fields: WallFields, timeZone: string): number {
  return wallMsToUtc(fieldsToWallMs(fields), timeZone);
}

/**
 * The local day (starting `startMinutes` after local midnight, e.g. 1020 for a 17:00 session start) that
 * contains the instant `utcMs`: its start (inclusive) and the next day's start (exclusive), UTC epoch ms.
 * Days around a DST change are 23 or 25 hours long; a start time in a skipped or repeated hour follows
 * the documented rule (module comment), so consecutive days always tile time without gap or overlap.
 */
export function zonedDayBounds(
  utcMs: number,
  timeZone: string,
  startMinutes = 0,
): { start: number; end: number } {
  const wall = utcToWallMs(utcMs, timeZone);
  let startWall = wall - (((wall % DAY_MS) + DAY_MS) % DAY_MS) + startMinutes * 60_000;
  if (startWall > wall) startWall -= DAY_MS;
  // The wall comparison is off by one day near a transition: a skipped start hour maps later than
  // its wall time, a repeated one earlier. Step until the instant lies inside [start, end).
  for (let guard = 0; guard < 3; guard++) {
    if (wallMsToUtc(startWall, timeZone) > utcMs) startWall -= DAY_MS;
    else if (wallMsToUtc(startWall + DAY_MS, timeZone) <= utcMs) startWall += DAY_MS;
    else break;
  }
  return { start: wallMsToUtc(startWall, timeZone), end: wallMsToUtc(startWall + DAY_MS, timeZone) };
}

const DATETIME_RE = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?$/;

/** Parsed `YYYY-MM-DD` or `YYYY-MM-DD HH:MM[:SS]`; null when the text has another shape. */
export function parseLocalDateTime(text: string): {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  dateOnly: boolean;
} | null {
  const m = DATETIME_RE.exec(text);
  if (m === null) return null;
  const [, y, mo, d, h, mi, s] = m;
  const fields = {
    year: Number(y),
    month: Number(mo),
    day: Number(d),
    hour: h === undefined ? 0 : Number(h),
    minute: mi === undefined ? 0 : Number(mi),
    second: s === undefined ? 0 : Number(s),
    dateOnly: h === undefined,
  };
  if (
    fields.month < 1 ||
    fields.month > 12 ||
    fields.day < 1 ||
    fields.day > 31 ||
    fields.hour > 23 ||
    fields.minute > 59 ||
    fields.second > 59
  ) {
    return null;
  }
  return fields;
}
