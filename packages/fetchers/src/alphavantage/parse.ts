import { FetchError, TIMEFRAME_MS, type Bar, type FetchErrorKind, type Timeframe } from '@pipeline/core';
import { rowToBar } from '../base/fetcher-kit';
import { type FetcherStats } from '../base/stats';
import { isKnownTimeZone, parseLocalDateTime, zonedTimeToUtc } from '../base/timezone';
import { AV_INTERVALS } from './intervals';

export { AV_INTERVALS };

/**
 * Which instant an intraday AV timestamp names. `end`: the bar's close time (AV's convention: the
 * regular session's 1-minute series runs 09:31..16:00 and the extended one ends with a 20:00:00 bar,
 * i.e. the minute 19:59-20:00); the bar's open is then `timestamp - interval`. `start`: as is.
 */
export const AV_INTRADAY_STAMPS = { end: 'end', start: 'start' } as const;
export type AvIntradayStamp = keyof typeof AV_INTRADAY_STAMPS;

export interface AvParseContext {
  symbol: string;
  timeframe: Timeframe;
  stamp: AvIntradayStamp;
  stats: FetcherStats;
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
    if (/per day|daily/i.test(msg) && /rate limit|requests|spreading out/i.test(msg)) {
      const nextMidnight = Math.floor(nowMs / 86_400_000 + 1) * 86_400_000;
      return make('rate_limited', `daily request quota spent: ${msg}`, nextMidnight - nowMs);
    }
    if (/call frequency|per minute|rate limit|spreading out/i.test(msg))
      return make('rate_limited', `rate limited: ${msg}`, 60_000);
    // A premium function: the key is valid, this plan cannot have it. Not a breaker failure.
    if (/premium/i.test(msg)) return make('not_supported', `premium endpoint: ${msg.slice(0, 160)}`);
    if (badKey.test(msg)) return make('auth', msg);
    return make('bad_request', msg);
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
 * newest first, local times in `timeZone`). Used for the retired TIME_SERIES_INTRADAY_EXTENDED
 * slices and for any `datatype=csv` download a caller has.
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
  return out;
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
