/**
 * Exchange-local wall-clock time -> UTC epoch ms, with the IANA rules built into Node's Intl (no tz
 * database of our own). Twelve Data stamps bars in the exchange's zone (`meta.exchange_timezone`),
 * so this runs once per bar: formatters are cached per zone.
 */

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (f === undefined) {
    // Throws RangeError for an unknown zone, which callers turn into a malformed-payload error.
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

/** Offset of `timeZone` from UTC at the instant `utcMs`, in ms (New York in winter: -5 h). */
export function zoneOffsetMs(utcMs: number, timeZone: string): number {
  const parts = formatterFor(timeZone).formatToParts(new Date(utcMs));
  const get = (type: Intl.DateTimeFormatPartTypes): number =>
    Number(parts.find((p) => p.type === type)?.value);
  const asUtc = Date.UTC(
    get('year'),
    get('month') - 1,
    get('day'),
    get('hour'),
    get('minute'),
    get('second'),
  );
  // formatToParts drops milliseconds; compare whole seconds.
  return asUtc - (utcMs - (((utcMs % 1000) + 1000) % 1000));
}

/** True when `timeZone` is an IANA zone name this runtime knows. */
export function isKnownTimeZone(timeZone: string): boolean {
  try {
    formatterFor(timeZone);
    return true;
  } catch {
    return false;
  }
}

type WallFields = {
  year: number;
  month: number;
  day: number;
  hour?: number;
  minute?: number;
  second?: number;
};

/**
 * Every UTC instant that shows the wall-clock time `fields` in `timeZone`, earliest first: one
 * normally, two in a repeated fall-back hour. A wall time skipped by a spring-forward gets the one
 * instant it would have had without the jump (02:30 New York on a spring-forward night -> 03:30 EDT).
 */
export function zonedTimeToUtcCandidates(fields: WallFields, timeZone: string): number[] {
  const wall = Date.UTC(
    fields.year,
    fields.month - 1,
    fields.day,
    fields.hour ?? 0,
    fields.minute ?? 0,
    fields.second ?? 0,
  );
  // Offsets a day either side bracket any single transition near `wall`.
  const offsetBefore = zoneOffsetMs(wall - 86_400_000, timeZone);
  const offsetAfter = zoneOffsetMs(wall + 86_400_000, timeZone);
  if (offsetBefore === offsetAfter) return [wall - offsetBefore];
  const candidateBefore = wall - offsetBefore; // read with the pre-transition offset
  const candidateAfter = wall - offsetAfter;
  const out: number[] = [];
  if (zoneOffsetMs(candidateBefore, timeZone) === offsetBefore) out.push(candidateBefore);
  if (zoneOffsetMs(candidateAfter, timeZone) === offsetAfter) out.push(candidateAfter);
  if (out.length === 0) return [candidateBefore]; // skipped wall time
  return out.sort((a, b) => a - b);
}

/**
 * The UTC instant of a wall-clock time in `timeZone`. A repeated (fall-back) wall time maps to its
 * FIRST occurrence; use {@link zonedTimeToUtcCandidates} where the sequence tells which one is meant.
 */
export function zonedTimeToUtc(fields: WallFields, timeZone: string): number {
  return zonedTimeToUtcCandidates(fields, timeZone)[0];
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
