import { FetchError, TIMEFRAME_MS, type Bar, type FetchErrorKind, type Timeframe } from '@pipeline/core';
import { rowToBar } from '../base/fetcher-kit';
import { type FetcherStats } from '../base/stats';
import { isKnownTimeZone, parseLocalDateTime, zonedTimeToUtc } from '@pipeline/core';
import { AV_INTERVALS } from './intervals';

export { AV_INTERVALS };

/**
 * Which instant an intraday AV timestamp names.
 * - `start` (today's API, TIME_SERIES_INTRADAY with `month`/`extended_hours`, since the 2023 rework):
 *   the bar's open. An extended-hours 5-minute series runs 04:00:00..19:55:00 US/Eastern with no
 *   20:00:00 key, the closing-auction volume sits in the 16:00:00 bar, and a regular-hours 15-minute
 *   series runs 09:30:00..15:45:00. Taken as is.
 * - `end` (archived answers, roughly 2017-2020: the regular 1-minute series ran 09:31..16:00 and
 *   TIME_SERIES_INTRADAY_EXTENDED ended with a 20:00:00 row): the bar's close; the open is then
 *   `timestamp - interval`.
 */
export const AV_INTRADAY_STAMPS = { end: 'end', start: 'start' } as const;
export type AvIntradayStamp = keyof typeof AV_INTRADAY_STAMPS;

export interface AvParseContext {
  symbol: string;
  timeframe: Timeframe;
  stamp: AvIntradayStamp;
  stats: FetcherStats;
}

/** The pause after AV's per-second burst notice (its free limit is 1 request per second). Unit: ms. */
export const AV_BURST_PAUSE_MS = 1_000;

/** The kinds of `Information` / `Note` notice AV sends with HTTP 200 instead of data. */
export type AvNoticeKind = 'burst' | 'minute' | 'daily' | 'demo' | 'premium' | 'bad_key' | 'other';

/**
 * Tells AV's notices apart by what they say as a whole, not by one keyword: the per-second burst
 * notice also names the daily limit ("(1 request per second) ... (25 requests per day)") and the
 * premium plans; the 2018 per-minute note also names a daily figure.
 */
export function classifyAvNotice(msg: string): AvNoticeKind {
  if (/per[- ]second|burst/i.test(msg)) return 'burst';
  if (/call frequency|per minute/i.test(msg)) return 'minute';
  if (/per day|daily/i.test(msg) && /rate limit|requests|spreading out/i.test(msg)) return 'daily';
  if (/\*\*demo\*\*|demo api key|demo purposes/i.test(msg)) return 'demo';
  if (/premium (endpoint|feature)|is a premium/i.test(msg)) return 'premium';
  if (/parameter apikey|api ?key is invalid|invalid api ?key/i.test(msg)) return 'bad_key';
  if (/spreading out|rate limit/i.test(msg)) return 'minute';
  return 'other';
}

/** Rate-limit / premium / error bodies AV sends with HTTP 200, as FetchErrors; null for data bodies. */
export function classifyAvBody(body: unknown, symbol: string | undefined, nowMs: number): FetchError | null {
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    return new FetchError({
      kind: 'malformed',
      source: 'alphavantage',
      symbol,
      message: 'body is not a JSON object',
    });
  }
  const b = body as Record<string, unknown>;
  const text = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v));
  // AV's bad-key text is "the parameter apikey is invalid or missing"; error texts may also quote
  // example URLs containing "apikey=demo", which must not read as an auth failure.
  const badKey = /parameter apikey|api ?key is invalid|invalid api ?key/i;
  const note = b.Note ?? b.Information;
  const error = b['Error Message'];
  const make = (kind: FetchErrorKind, message: string, retryAfterMs?: number): FetchError =>
    new FetchError({ kind, source: 'alphavantage', symbol, message, retryAfterMs });
  if (note !== undefined) {
    const msg = text(note);
    const notice = classifyAvNotice(msg);
    switch (notice) {
      case 'burst':
        // "...spreading out your free API requests more sparingly (1 request per second)...": a
        // per-second limit. Nothing is spent for the day; a second's pause is enough.
        return make('rate_limited', `per-second burst limit: ${msg}`, AV_BURST_PAUSE_MS);
      case 'minute':
        return make('rate_limited', `rate limited: ${msg}`, 60_000);
      case 'daily': {
        const nextMidnight = Math.floor(nowMs / 86_400_000 + 1) * 86_400_000;
        return make('rate_limited', `daily request quota spent: ${msg}`, nextMidnight - nowMs);
      }
      case 'demo':
        // The key is the public `demo` one, which serves only its documented examples: a key problem.
        return make('auth', `demo API key: ${msg.slice(0, 200)}`);
      case 'premium':
        // A premium function or parameter value: the key is valid, this plan cannot have it.
        return make('not_supported', `premium endpoint or parameter: ${msg.slice(0, 200)}`);
      case 'bad_key':
        return make('auth', msg);
      default:
        return make('bad_request', msg);
    }
  }
  if (error !== undefined) {
    const msg = text(error);
    if (badKey.test(msg)) return make('auth', msg);
    // We build every parameter ourselves, so "Invalid API call" means AV does not know the symbol.
    if (/invalid api call/i.test(msg)) return make('symbol_not_found', msg);
    return make('transient', msg);
  }
  return null;
}

function metaTimeZone(meta: Record<string, unknown>): string | undefined {
  for (const [k, v] of Object.entries(meta)) if (/time zone$/i.test(k) && typeof v === 'string') return v;
  return undefined;
}

/**
 * Parses a TIME_SERIES_* / FX_* JSON body. Timestamps are local to the zone the meta data names
 * ("6. Time Zone": "US/Eastern" or "UTC"), converted with Intl (DST-correct). Daily bars are
 * stamped 00:00 UTC of their date, like every daily bar of this package.
 */
export function parseAvSeries(body: unknown, ctx: AvParseContext): Bar[] {
  const b = body as Record<string, unknown>;
  const meta = b['Meta Data'] as Record<string, unknown> | undefined;
  const seriesKey = Object.keys(b).find((k) => k.startsWith('Time Series'));
  const series = seriesKey
    ? (b[seriesKey] as Record<string, Record<string, unknown>> | undefined)
    : undefined;
  if (!meta || !series || typeof series !== 'object') {
    throw new FetchError({
      kind: 'malformed',
      source: 'alphavantage',
      symbol: ctx.symbol,
      message: `no time series in the body (keys: ${Object.keys(b).join(', ')})`,
    });
  }
  const tz = metaTimeZone(meta) ?? 'UTC';
  if (!isKnownTimeZone(tz)) {
    throw new FetchError({
      kind: 'malformed',
      source: 'alphavantage',
      symbol: ctx.symbol,
      message: `unknown time zone ${JSON.stringify(tz)}`,
    });
  }
  const daily = ctx.timeframe === '1d';
  const shift = !daily && ctx.stamp === 'end' ? TIMEFRAME_MS[ctx.timeframe] : 0;
  const out: Bar[] = [];
  for (const [stamp, row] of Object.entries(series)) {
    const f = parseLocalDateTime(stamp);
    if (!f || !row || typeof row !== 'object') {
      ctx.stats.partialRowsSkipped++;
      continue;
    }
    const ts = daily ? Date.UTC(f.year, f.month - 1, f.day) : zonedTimeToUtc(f, tz) - shift;
    const bar = rowToBar(
      {
        open: row['1. open'],
        high: row['2. high'],
        low: row['3. low'],
        close: row['4. close'],
        volume: row['5. volume'],
      },
      { symbol: ctx.symbol, timeframe: ctx.timeframe, ts, source: 'alphavantage' },
      ctx.stats,
    );
    if (bar) out.push(bar);
  }
  return out;
}

/**
 * Parses AV's CSV time series (`datatype=csv`, header `time|timestamp,open,high,low,close,volume`,
 * newest first, local times in `timeZone`) into bars oldest first. `stamp` follows the same rule as
 * the JSON series (`start` for today's API: the 09:30:00 row is the 09:30 bar). Used for the retired
 * TIME_SERIES_INTRADAY_EXTENDED slices and for any `datatype=csv` download a caller has.
 */
export function parseAvCsv(text: string, ctx: AvParseContext & { timeZone: string }): Bar[] {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  const header = (lines.shift() ?? '').split(',').map((h) => h.trim().toLowerCase());
  const idx = (name: string): number => header.indexOf(name);
  const iTime = idx('time') >= 0 ? idx('time') : idx('timestamp');
  if (iTime < 0 || idx('open') < 0 || idx('close') < 0) {
    throw new FetchError({
      kind: 'malformed',
      source: 'alphavantage',
      symbol: ctx.symbol,
      message: `unexpected CSV header ${JSON.stringify(header.join(','))}`,
    });
  }
  const daily = ctx.timeframe === '1d';
  const shift = !daily && ctx.stamp === 'end' ? TIMEFRAME_MS[ctx.timeframe] : 0;
  const out: Bar[] = [];
  for (const line of lines) {
    const cells = line.split(',');
    const f = parseLocalDateTime(cells[iTime]?.trim() ?? '');
    if (!f) {
      ctx.stats.partialRowsSkipped++;
      continue;
    }
    const ts = daily ? Date.UTC(f.year, f.month - 1, f.day) : zonedTimeToUtc(f, ctx.timeZone) - shift;
    const bar = rowToBar(
      {
        open: cells[idx('open')],
        high: cells[idx('high')],
        low: cells[idx('low')],
        close: cells[idx('close')],
        volume: idx('volume') >= 0 ? cells[idx('volume')] : undefined,
      },
      { symbol: ctx.symbol, timeframe: ctx.timeframe, ts, source: 'alphavantage' },
      ctx.stats,
    );
    if (bar) out.push(bar);
  }
  // AV's CSV comes newest first; every fetcher of this package returns bars oldest first.
  return out.sort((a, b) => a.ts - b.ts);
}

/** A latest price from GLOBAL_QUOTE or CURRENCY_EXCHANGE_RATE. */
export interface AlphaVantageQuote {
  symbol: string;
  price: number;
  /** Epoch ms: the refresh time (exchange rates) or 00:00 UTC of the latest trading day (stocks). */
  ts: number;
  /** null where AV sends none or "-". */
  bid: number | null;
  ask: number | null;
}

const num = (v: unknown): number | null => {
  const n =
    typeof v === 'string' && v.trim() !== '' && v.trim() !== '-'
      ? Number(v)
      : typeof v === 'number'
        ? v
        : NaN;
  return Number.isFinite(n) && n > 0 ? n : null;
};

const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/** Reads a GLOBAL_QUOTE or CURRENCY_EXCHANGE_RATE body. */
export function parseAvQuote(body: unknown, symbol: string): AlphaVantageQuote {
  const b = body as Record<string, Record<string, unknown> | undefined>;
  const gq = b['Global Quote'];
  const fx = b['Realtime Currency Exchange Rate'];
  const bad = (what: string): never => {
    throw new FetchError({ kind: 'malformed', source: 'alphavantage', symbol, message: what });
  };
  if (gq) {
    // AV answers an unknown symbol with an empty "Global Quote": {}.
    if (Object.keys(gq).length === 0)
      throw new FetchError({
        kind: 'symbol_not_found',
        source: 'alphavantage',
        symbol,
        message: 'empty Global Quote',
      });
    const price = num(gq['05. price']) ?? bad('Global Quote without a price');
    const day =
      parseLocalDateTime(str(gq['07. latest trading day'])) ?? bad('Global Quote without a trading day');
    return { symbol, price, ts: Date.UTC(day.year, day.month - 1, day.day), bid: null, ask: null };
  }
  if (fx) {
    const price = num(fx['5. Exchange Rate']) ?? bad('exchange rate without a rate');
    const at = parseLocalDateTime(str(fx['6. Last Refreshed'])) ?? bad('exchange rate without a time');
    const tz =
      typeof fx['7. Time Zone'] === 'string' && isKnownTimeZone(fx['7. Time Zone'])
        ? fx['7. Time Zone']
        : 'UTC';
    return {
      symbol,
      price,
      ts: zonedTimeToUtc(at, tz),
      bid: num(fx['8. Bid Price']),
      ask: num(fx['9. Ask Price']),
    };
  }
  return bad(`no quote in the body (keys: ${Object.keys(b).join(', ')})`);
}
