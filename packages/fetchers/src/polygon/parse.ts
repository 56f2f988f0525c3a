/**
 * Pure Polygon REST payload parsers: response text -> bars or a FetchError. No I/O and no clock, so
 * they are tested directly against the recorded fixtures and reused by {@link PolygonFetcher}.
 */
import { FetchError, type Bar, type FetchErrorKind, type Timeframe } from '@pipeline/core';
import { rowToBar } from '../base/fetcher-kit';
import { type FetcherStats } from '../base/stats';
import { isRecord, zoneOffsetMs } from '@pipeline/core';

/** Polygon's `{multiplier}/{timespan}` for each core timeframe. */
export const POLYGON_TIMESPANS = Object.freeze({
  '1s': { multiplier: 1, timespan: 'second' },
  '1m': { multiplier: 1, timespan: 'minute' },
  '5m': { multiplier: 5, timespan: 'minute' },
  '15m': { multiplier: 15, timespan: 'minute' },
  '30m': { multiplier: 30, timespan: 'minute' },
  '1h': { multiplier: 1, timespan: 'hour' },
  '4h': { multiplier: 4, timespan: 'hour' },
  '1d': { multiplier: 1, timespan: 'day' },
} as const satisfies Record<Timeframe, { multiplier: number; timespan: string }>);

/** Most aggregates one /v2/aggs request may return (its `limit` upper bound). */
export const POLYGON_MAX_AGGREGATES = 50_000;

const TIMESPAN_UNIT_MS = { second: 1_000, minute: 60_000, hour: 3_600_000, day: 86_400_000 } as const;

/**
 * Widest [from, to) one aggregates request may cover so that it can never hit the cap. Polygon's
 * `limit` counts BASE aggregates (one per timespan unit: 5-minute bars are built from 1-minute
 * ones), so the window is 50,000 units of the timespan, not 50,000 bars.
 */
export function polygonMaxRangeMs(timeframe: Timeframe): number {
  return POLYGON_MAX_AGGREGATES * TIMESPAN_UNIT_MS[POLYGON_TIMESPANS[timeframe].timespan];
}

/**
 * Maps a Polygon error answer to a FetchError. Polygon puts the text under "error" (401, 429) or
 * "message" (403 NOT_AUTHORIZED); a 403 about the plan ("not entitled", "doesn't include this data
 * timeframe") is `not_supported`: the key is valid, this data is just outside what it may read, so
 * it must not trip the breaker.
 */
export function polygonBodyError(
  httpStatus: number,
  body: Record<string, unknown> | null,
  ctx: { symbol?: string; now: number; retryAfterMs?: number },
): FetchError {
  const text =
    (body && typeof body.error === 'string' && body.error) ||
    (body && typeof body.message === 'string' && body.message) ||
    `HTTP ${httpStatus}`;
  const status = body && typeof body.status === 'string' ? body.status : undefined;
  const lower = text.toLowerCase();
  let kind: FetchErrorKind;
  let retryAfterMs = ctx.retryAfterMs;
  if (httpStatus === 429 || /exceeded the maximum requests/.test(lower)) {
    kind = 'rate_limited';
    // Polygon sends no Retry-After; its per-minute window is the documented limit.
    retryAfterMs ??= 60_000 - (ctx.now % 60_000);
  } else if (httpStatus === 403 && /plan|entitled/.test(lower)) {
    kind = 'not_supported';
  } else if (httpStatus === 401 || httpStatus === 403 || /api key/.test(lower)) {
    kind = 'auth';
  } else if (httpStatus === 404 || status === 'NOT_FOUND') {
    kind = 'symbol_not_found';
  } else if (httpStatus >= 500) {
    kind = 'transient';
  } else if (httpStatus >= 400) {
    kind = 'bad_request';
  } else {
    kind = 'malformed';
  }
  return new FetchError({
    kind,
    source: 'polygon',
    status: httpStatus,
    message: status !== undefined ? `${status}: ${text}` : text,
    ...(kind === 'rate_limited' && retryAfterMs !== undefined ? { retryAfterMs } : {}),
    ...(ctx.symbol !== undefined ? { symbol: ctx.symbol } : {}),
  });
}

/** Decodes a Polygon JSON body or throws the FetchError its status/body stands for. */
export function decodePolygonBody(
  httpStatus: number,
  text: string,
  ctx: { symbol?: string; now: number; retryAfterMs?: number },
): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    if (httpStatus >= 400) throw polygonBodyError(httpStatus, null, ctx);
    const what =
      text.trim() === '' ? 'an empty body' : `a non-JSON body (${JSON.stringify(text.slice(0, 60))})`;
    throw new FetchError({
      kind: 'malformed',
      source: 'polygon',
      status: httpStatus,
      message: `HTTP ${httpStatus} with ${what}`,
      cause,
      ...(ctx.symbol !== undefined ? { symbol: ctx.symbol } : {}),
    });
  }
  const body = isRecord(parsed) ? parsed : null;
  if (httpStatus >= 400 || body === null || body.status === 'ERROR' || body.status === 'NOT_AUTHORIZED') {
    throw polygonBodyError(httpStatus, body, ctx);
  }
  return body;
}

export interface PolygonParseContext {
  /** Generic symbol the bars are labelled with. */
  symbol: string;
  timeframe: Timeframe;
  /** Polygon ticker asked for (`C:EURUSD`, `I:NDX`, `AAPL`); its prefix tells the market's day boundary. */
  ticker: string;
}

export interface ParsedPolygonAggs {
  /** Bars oldest first (also for `sort=desc` answers), all `final: true`. Skipped results are counted in the stats passed in. */
  bars: Bar[];
  /** Cursor to the next page (without the apiKey, which Polygon leaves out). */
  nextUrl: string | null;
}

/**
 * Opens of daily bars are normalized to 00:00 UTC of the trading date (core's 1d alignment):
 * Polygon stamps stock and index days at midnight US/Eastern (04:00/05:00Z), forex and crypto days
 * at 00:00Z, and previous-close answers at the close (20:00Z) or the last millisecond of the day.
 */
function dayOpen(t: number, ticker: string): number {
  const zone = /^(C|X):/.test(ticker) ? 'UTC' : 'America/New_York';
  const local = t + zoneOffsetMs(t, zone);
  return local - (((local % 86_400_000) + 86_400_000) % 86_400_000);
}

/**
 * Aggregates (`results[]` of /v2/aggs range and prev) -> bars. Missing `results` (unknown ticker,
 * empty range) is an empty list; a missing `v` (indices) is volume 0; volumes in scientific
 * notation are plain JSON numbers.
 */
export function parsePolygonAggs(
  obj: Record<string, unknown>,
  ctx: PolygonParseContext,
  stats: FetcherStats,
): ParsedPolygonAggs {
  const results = obj.results === undefined ? [] : obj.results;
  if (!Array.isArray(results)) {
    throw new FetchError({
      kind: 'malformed',
      source: 'polygon',
      symbol: ctx.symbol,
      message: '"results" is not an array',
    });
  }
  const bars: Bar[] = [];
  const daily = ctx.timeframe === '1d';
  for (const r of results) {
    if (!isRecord(r)) {
      stats.nullRowsSkipped++;
      continue;
    }
    if (typeof r.t !== 'number' || !Number.isFinite(r.t)) {
      if ([r.o, r.h, r.l, r.c].every((v) => v === null || v === undefined)) stats.nullRowsSkipped++;
      else stats.partialRowsSkipped++;
      continue;
    }
    const ts = daily ? dayOpen(r.t, ctx.ticker) : r.t;
    // Index aggregates have no `v`: toVolume reads a missing volume as 0.
    const bar = rowToBar(
      { open: r.o, high: r.h, low: r.l, close: r.c, volume: r.v },
      { symbol: ctx.symbol, timeframe: ctx.timeframe, ts, source: 'polygon' },
      stats,
    );
    if (bar !== null) bars.push(bar);
  }
  bars.sort((a, b) => a.ts - b.ts);
  const nextUrl = typeof obj.next_url === 'string' && obj.next_url !== '' ? obj.next_url : null;
  return { bars, nextUrl };
}

/** The last trade of a ticker. */
export interface PolygonLastTrade {
  /** Generic symbol. */
  symbol: string;
  price: number;
  size: number;
  /** SIP time of the trade, epoch ms (Polygon sends ns for stocks, ms for crypto). */
  ts: number;
  exchange: number | null;
}

/**
 * Parses /v2/last/trade/{ticker} (`results` with `p`, `s`, ns `t`) and the v1 crypto shape (`last`
 * with `price`, `size`, ms `timestamp`).
 */
export function parsePolygonLastTrade(obj: Record<string, unknown>, symbol: string): PolygonLastTrade {
  const fail = (why: string): FetchError =>
    new FetchError({ kind: 'malformed', source: 'polygon', symbol, message: `last trade: ${why}` });
  if (isRecord(obj.results)) {
    const { p, s, t, x } = obj.results;
    if (typeof p !== 'number' || !(p > 0) || typeof t !== 'number') throw fail('no price or time');
    // Nanoseconds exceed 2^53, so t is already rounded; ms precision survives the division.
    return {
      symbol,
      price: p,
      size: typeof s === 'number' ? s : 0,
      ts: Math.floor(t / 1e6),
      exchange: typeof x === 'number' ? x : null,
    };
  }
  if (isRecord(obj.last)) {
    const { price, size, timestamp, exchange } = obj.last;
    if (typeof price !== 'number' || !(price > 0) || typeof timestamp !== 'number')
      throw fail('no price or time');
    return {
      symbol,
      price,
      size: typeof size === 'number' ? size : 0,
      ts: timestamp,
      exchange: typeof exchange === 'number' ? exchange : null,
    };
  }
  if (obj.results === undefined && obj.last === undefined) {
    throw new FetchError({
      kind: 'symbol_not_found',
      source: 'polygon',
      symbol,
      message: 'last trade: no results',
    });
  }
  throw fail('unexpected shape');
}

/**
 * Polygon mixes nanosecond (stock trades, quotes, snapshots) and millisecond (forex, crypto)
 * epochs. Anything above 10^15 cannot be a millisecond time before the year 33,000: read it as ns.
 */
export function polygonTimeToMs(t: number): number {
  return t > 1e15 ? Math.floor(t / 1e6) : t;
}

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** The last NBBO (stocks) or last quote (forex). */
export interface PolygonLastQuote {
  /** Generic symbol. */
  symbol: string;
  bid: number;
  ask: number;
  /** Shares (stocks); null where Polygon sends none (forex). */
  bidSize: number | null;
  askSize: number | null;
  /** Quote time, epoch ms. */
  ts: number;
}

/** Parses /v2/last/nbbo/{ticker} (`results` with p/P bid/ask, ns `t`) and /v1/last_quote/currencies (`last` with bid/ask). */
export function parsePolygonLastQuote(obj: Record<string, unknown>, symbol: string): PolygonLastQuote {
  const fail = (why: string): FetchError =>
    new FetchError({ kind: 'malformed', source: 'polygon', symbol, message: `last quote: ${why}` });
  if (isRecord(obj.results)) {
    const r = obj.results;
    const bid = num(r.p);
    const ask = num(r.P);
    const t = num(r.t);
    if (bid === null || ask === null || t === null || !(bid > 0) || !(ask > 0))
      throw fail('no bid/ask or time');
    return { symbol, bid, ask, bidSize: num(r.s), askSize: num(r.S), ts: polygonTimeToMs(t) };
  }
  if (isRecord(obj.last)) {
    const r = obj.last;
    const bid = num(r.bid);
    const ask = num(r.ask);
    const t = num(r.timestamp);
    if (bid === null || ask === null || t === null || !(bid > 0) || !(ask > 0))
      throw fail('no bid/ask or time');
    return { symbol, bid, ask, bidSize: null, askSize: null, ts: polygonTimeToMs(t) };
  }
  throw new FetchError({
    kind: 'symbol_not_found',
    source: 'polygon',
    symbol,
    message: 'last quote: no results',
  });
}

/** OHLCV of a snapshot section; `ts` only where Polygon stamps it (forex `min.t`). */
export interface PolygonSnapshotBar {
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
  ts: number | null;
}

/** A ticker snapshot: today's bar so far, the latest minute, the previous day, last trade and quote. */
export interface PolygonSnapshot {
  /** Generic symbol. */
  symbol: string;
  day: PolygonSnapshotBar | null;
  minute: PolygonSnapshotBar | null;
  prevDay: PolygonSnapshotBar | null;
  lastTrade: { price: number; size: number | null; ts: number } | null;
  lastQuote: { bid: number; ask: number; ts: number } | null;
  todaysChange: number | null;
  /** Last update, epoch ms. */
  updated: number | null;
}

function snapshotBar(v: unknown): PolygonSnapshotBar | null {
  if (!isRecord(v)) return null;
  const o = num(v.o);
  const h = num(v.h);
  const l = num(v.l);
  const c = num(v.c);
  // Polygon fills untraded sections with zeros: that is "no bar", not a price of 0.
  if (o === null || h === null || l === null || c === null || !(o > 0 && h > 0 && l > 0 && c > 0))
    return null;
  const t = num(v.t);
  return {
    open: o,
    high: h,
    low: l,
    close: c,
    volume: num(v.v) ?? 0,
    ts: t === null ? null : polygonTimeToMs(t),
  };
}

/** Parses /v2/snapshot/locale/{us|global}/markets/{market}/tickers/{ticker}. */
export function parsePolygonSnapshot(obj: Record<string, unknown>, symbol: string): PolygonSnapshot {
  const t = obj.ticker;
  if (!isRecord(t))
    throw new FetchError({
      kind: 'symbol_not_found',
      source: 'polygon',
      symbol,
      message: 'snapshot: no "ticker" object',
    });
  let lastTrade: PolygonSnapshot['lastTrade'] = null;
  const trade = isRecord(t.lastTrade) ? t.lastTrade : null;
  const tradePrice = trade === null ? null : num(trade.p);
  const tradeTime = trade === null ? null : num(trade.t);
  if (trade !== null && tradePrice !== null && tradeTime !== null) {
    lastTrade = { price: tradePrice, size: num(trade.s), ts: polygonTimeToMs(tradeTime) };
  }
  let lastQuote: PolygonSnapshot['lastQuote'] = null;
  if (isRecord(t.lastQuote)) {
    const q = t.lastQuote;
    // stocks: p = bid, P = ask; forex: b = bid, a = ask
    const bid = num(q.p) ?? num(q.b);
    const ask = num(q.P) ?? num(q.a);
    const ts = num(q.t);
    if (bid !== null && ask !== null && ts !== null) lastQuote = { bid, ask, ts: polygonTimeToMs(ts) };
  }
  const updated = num(t.updated);
  return {
    symbol,
    day: snapshotBar(t.day),
    minute: snapshotBar(t.min),
    prevDay: snapshotBar(t.prevDay),
    lastTrade,
    lastQuote,
    todaysChange: num(t.todaysChange),
    updated: updated === null ? null : polygonTimeToMs(updated),
  };
}
