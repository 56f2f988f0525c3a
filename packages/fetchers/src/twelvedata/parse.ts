/**
 * Pure Twelve Data payload parsers: response text -> bars or a FetchError. No I/O, no clock, so they
 * are tested directly against the recorded fixtures and reused by {@link TwelveDataFetcher}.
 */
import { FetchError, type Bar, type FetchErrorKind, type Timeframe } from '@pipeline/core';
import { toPrice, toVolume } from '../base/bars';
import { rowToBar } from '../base/fetcher-kit';
import { type FetcherStats } from '../base/stats';
import {
  isKnownTimeZone,
  isRecord,
  parseLocalDateTime,
  zonedTimeToUtc,
  zonedTimeToUtcCandidates,
} from '@pipeline/core';

/** Twelve Data `interval` for each core timeframe it serves (it has no 1-second bars). */
export const TWELVEDATA_INTERVALS = Object.freeze({
  '1m': '1min',
  '5m': '5min',
  '15m': '15min',
  '30m': '30min',
  '1h': '1h',
  '4h': '4h',
  '1d': '1day',
} as const satisfies Partial<Record<Timeframe, string>>);

/** Most rows one time_series request returns (`outputsize` upper bound). */
export const TWELVEDATA_MAX_OUTPUTSIZE = 5000;

/** Where the zone is missing from `meta` (forex and crypto batch answers): Twelve Data stamps those in UTC. */
const DEFAULT_ZONE = 'UTC';

export interface TwelveDataParseContext {
  /** Generic symbol the bars are labelled with. */
  symbol: string;
  timeframe: Timeframe;
}

/** One parsed time_series answer (a single symbol). */
export interface ParsedTwelveDataSeries {
  /** Bars oldest first, all `final: true` (the fetcher marks the forming one). Skipped rows are counted in the stats passed in. */
  bars: Bar[];
  /** The zone the datetimes were read in (`meta.exchange_timezone`, or UTC when absent). */
  timeZone: string;
  /** The datetime text of the oldest row as sent (the cursor for the next, older page). */
  oldestDatetime: string | null;
  /** Rows in the answer, skipped ones included (== outputsize means there may be older rows). */
  rowCount: number;
}

interface TwelveDataErrorBody {
  code?: unknown;
  message?: unknown;
  status?: unknown;
}

/** Next minute boundary after `now`: Twelve Data's per-minute credits refill on the minute. */
function msToNextMinute(now: number): number {
  return 60_000 - (now % 60_000);
}

function msToNextUtcDay(now: number): number {
  return 86_400_000 - (now % 86_400_000);
}

/**
 * A 403 that names a plan ("... is available starting with Grow plan", "... exclusively with Pro
 * plan", "upgrade your plan") rather than a bad key.
 */
export function isPlanRestriction(lowerMessage: string): boolean {
  return /\bplan\b|upgrade|starting with|exclusive/.test(lowerMessage) && !/api ?key/.test(lowerMessage);
}

/**
 * Maps Twelve Data's in-body error (`{"code":..,"message":..,"status":"error"}`) to a FetchError. The
 * code in the body wins over the HTTP status, because Twelve Data sends most errors with HTTP 200.
 */
export function twelveDataBodyError(
  body: TwelveDataErrorBody,
  httpStatus: number,
  ctx: { symbol?: string; now: number },
): FetchError {
  const code = typeof body.code === 'number' ? body.code : httpStatus;
  const message = typeof body.message === 'string' ? body.message : 'error without message';
  const lower = message.toLowerCase();
  let kind: FetchErrorKind;
  let retryAfterMs: number | undefined;
  if (code === 429) {
    kind = 'rate_limited';
    // "run out of API credits for the current minute" vs. "... for the day"
    retryAfterMs = /\bday\b|daily/.test(lower) ? msToNextUtcDay(ctx.now) : msToNextMinute(ctx.now);
  } else if (code === 403 && isPlanRestriction(lower)) {
    // "This symbol is available starting with Grow plan": the key is fine, this plan cannot have
    // this symbol (or endpoint). Not a key problem, not a breaker failure.
    kind = 'not_supported';
  } else if (code === 401 || code === 403) {
    kind = 'auth';
  } else if (
    code === 404 ||
    (code === 400 && /symbol/.test(lower) && /not found|invalid|incorrect/.test(lower))
  ) {
    kind = 'symbol_not_found';
  } else if (code >= 500) {
    kind = 'transient';
  } else if (code === 400) {
    kind = 'bad_request';
  } else {
    kind = 'malformed';
  }
  return new FetchError({
    kind,
    source: 'twelvedata',
    status: httpStatus,
    message: `error ${code}: ${message}`,
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    ...(ctx.symbol !== undefined ? { symbol: ctx.symbol } : {}),
  });
}

/**
 * Parses a Twelve Data JSON body. Returns the decoded object, or throws the FetchError the body or
 * status stands for: an in-body error object, a non-JSON page (the plain-text 404), an empty or
 * truncated body, or a 5xx.
 */
export function decodeTwelveDataBody(
  httpStatus: number,
  text: string,
  ctx: { symbol?: string; now: number },
): Record<string, unknown> {
  const sym = ctx.symbol !== undefined ? { symbol: ctx.symbol } : {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    let kind: FetchErrorKind = 'malformed';
    if (httpStatus >= 500) kind = 'transient';
    else if (httpStatus === 429) kind = 'rate_limited';
    else if (httpStatus === 401 || httpStatus === 403) kind = 'auth';
    // A plain-text "404 page not found" means the path is wrong (a bad baseUrl), not an unknown symbol.
    else if (httpStatus === 404) kind = 'bad_request';
    const what =
      text.trim() === '' ? 'an empty body' : `a non-JSON body (${JSON.stringify(text.slice(0, 60))})`;
    throw new FetchError({
      kind,
      source: 'twelvedata',
      status: httpStatus,
      message: `HTTP ${httpStatus} with ${what}`,
      cause,
      ...sym,
    });
  }
  if (!isRecord(parsed)) {
    throw new FetchError({
      kind: 'malformed',
      source: 'twelvedata',
      status: httpStatus,
      message: 'JSON body is not an object',
      ...sym,
    });
  }
  if (parsed.status === 'error') throw twelveDataBodyError(parsed, httpStatus, ctx);
  if (httpStatus >= 400) {
    // Error status without Twelve Data's error shape (a proxy or gateway page in JSON).
    throw twelveDataBodyError({ code: httpStatus, message: `HTTP ${httpStatus}` }, httpStatus, ctx);
  }
  return parsed;
}

/**
 * Converts the `meta`+`values` object of one symbol (a single answer or one entry of a batch) into
 * bars. Rows with a null or unreadable price or datetime are skipped and counted, never zero-filled.
 *
 * Timestamps: intraday datetimes are exchange-local wall times, converted with the IANA zone in
 * `meta.exchange_timezone` (DST-correct). Daily datetimes are trading dates and become 00:00 UTC of
 * that date, the open of core's UTC-aligned 1d bar, so that all sources key a day the same way.
 */
export function parseTwelveDataSeries(
  obj: Record<string, unknown>,
  ctx: TwelveDataParseContext,
  stats: FetcherStats,
): ParsedTwelveDataSeries {
  const meta = isRecord(obj.meta) ? obj.meta : {};
  const zone =
    typeof meta.exchange_timezone === 'string' && meta.exchange_timezone !== ''
      ? meta.exchange_timezone
      : DEFAULT_ZONE;
  if (!isKnownTimeZone(zone)) {
    throw new FetchError({
      kind: 'malformed',
      source: 'twelvedata',
      symbol: ctx.symbol,
      message: `unknown exchange_timezone ${JSON.stringify(zone)}`,
    });
  }
  // A valid request for a range without data answers without "values" at all.
  const rows = obj.values === undefined ? [] : obj.values;
  if (!Array.isArray(rows)) {
    throw new FetchError({
      kind: 'malformed',
      source: 'twelvedata',
      symbol: ctx.symbol,
      message: '"values" is not an array',
    });
  }
  const bars: Bar[] = [];
  let oldest: string | null = null;
  let previousTs = -Infinity;
  // Oldest row first: in a repeated fall-back hour the same wall time appears twice, and only the
  // order tells the first occurrence (summer time) from the second.
  for (let i = rows.length - 1; i >= 0; i--) {
    const row: unknown = rows[i];
    if (!isRecord(row)) {
      stats.nullRowsSkipped++;
      continue;
    }
    const when = typeof row.datetime === 'string' ? parseLocalDateTime(row.datetime) : null;
    if (when === null) {
      stats.partialRowsSkipped++;
      continue;
    }
    oldest ??= row.datetime as string;
    let ts: number;
    if (when.dateOnly) {
      ts = Date.UTC(when.year, when.month - 1, when.day);
    } else {
      const candidates = zonedTimeToUtcCandidates(when, zone);
      // zonedTimeToUtcCandidates never returns an empty list (its type says so: a skipped wall time
      // still gets one instant).
      ts = candidates.find((c) => c > previousTs) ?? candidates[0];
    }
    previousTs = ts;
    const raw = { open: row.open, high: row.high, low: row.low, close: row.close, volume: row.volume };
    const bar = rowToBar(
      raw,
      { symbol: ctx.symbol, timeframe: ctx.timeframe, ts, source: 'twelvedata' },
      stats,
    );
    if (bar !== null) bars.push(bar);
  }
  bars.sort((a, b) => a.ts - b.ts);
  return { bars, timeZone: zone, oldestDatetime: oldest, rowCount: rows.length };
}

/** A /quote answer, numbers parsed. */
export interface TwelveDataQuote {
  /** Generic symbol. */
  symbol: string;
  /** Name of the instrument as Twelve Data spells it. */
  name: string | null;
  /** Open of the quote's bar (epoch ms, UTC; a trading date is read as 00:00 UTC). */
  ts: number | null;
  open: number | null;
  high: number | null;
  low: number | null;
  close: number | null;
  volume: number | null;
  previousClose: number | null;
}

/** Parses a /quote body already decoded by {@link decodeTwelveDataBody}. */
export function parseTwelveDataQuote(
  obj: Record<string, unknown>,
  symbol: string,
  timeZone = DEFAULT_ZONE,
): TwelveDataQuote {
  const when = typeof obj.datetime === 'string' ? parseLocalDateTime(obj.datetime) : null;
  let ts: number | null = null;
  if (typeof obj.timestamp === 'number') ts = obj.timestamp * 1000;
  else if (when !== null)
    ts = when.dateOnly ? Date.UTC(when.year, when.month - 1, when.day) : zonedTimeToUtc(when, timeZone);
  return {
    symbol,
    name: typeof obj.name === 'string' ? obj.name : null,
    ts,
    open: toPrice(obj.open),
    high: toPrice(obj.high),
    low: toPrice(obj.low),
    close: toPrice(obj.close),
    volume: obj.volume === undefined || obj.volume === null ? null : toVolume(obj.volume),
    previousClose: toPrice(obj.previous_close),
  };
}

/** Parses a /price body (`{"price":"146.55000"}`); a missing or non-positive price is malformed. */
export function parseTwelveDataPrice(obj: Record<string, unknown>, symbol: string): number {
  const p = toPrice(obj.price);
  if (p === null) {
    throw new FetchError({
      kind: 'malformed',
      source: 'twelvedata',
      symbol,
      message: `no usable "price" in answer`,
    });
  }
  return p;
}

/**
 * Splits a batch time_series answer (`{"EUR/USD": {meta, values, status}, ...}`, keyed by the
 * provider symbols asked for) into per-symbol results. An entry can itself be an error object.
 */
export function splitTwelveDataBatch(
  obj: Record<string, unknown>,
  providerSymbols: readonly string[],
): Map<string, Record<string, unknown> | undefined> {
  const out = new Map<string, Record<string, unknown> | undefined>();
  for (const p of providerSymbols) {
    const entry = obj[p];
    out.set(p, isRecord(entry) ? entry : undefined);
  }
  return out;
}
