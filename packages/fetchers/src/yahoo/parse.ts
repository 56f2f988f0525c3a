import { FetchError, TIMEFRAME_MS, type Bar, type Timeframe } from '@pipeline/core';
import { rowToBar } from '../base/fetcher-kit';
import { shortestFloat32Decimal } from '../base/float32';
import { type FetcherStats } from '../base/stats';
import { zoneOffsetMs, isKnownTimeZone } from '@pipeline/core';
import { YAHOO_INTERVALS } from './intervals';

export { YAHOO_INTERVALS };

export interface ChartParseContext {
  /** Generic symbol the bars are labelled with. */
  symbol: string;
  timeframe: Timeframe;
  /** Keep only bars whose (re-stamped) open lies in [from, to). */
  from?: number;
  to?: number;
  /** Was includePrePost=true requested (post-market bars may then open at the session close). */
  includePrePost: boolean;
  /** Keep Yahoo's float32-widened prices (225.88999938964844) instead of the decimal meant (225.89). */
  rawPrices?: boolean;
  stats: FetcherStats;
}

interface Period {
  start?: number;
  end?: number;
}

/** Ends of the regular sessions (epoch s) named in the chart meta, in either of its shapes. */
function regularSessionEnds(meta: Record<string, unknown>): Set<number> {
  const ends = new Set<number>();
  const add = (p: unknown): void => {
    const end = (p as Period | null)?.end;
    if (typeof end === 'number') ends.add(end);
  };
  const tp = meta.tradingPeriods;
  if (Array.isArray(tp)) for (const day of tp) for (const p of Array.isArray(day) ? day : [day]) add(p);
  else if (tp && typeof tp === 'object' && Array.isArray((tp as { regular?: unknown }).regular)) {
    for (const day of (tp as { regular: unknown[] }).regular)
      for (const p of Array.isArray(day) ? day : [day]) add(p);
  }
  add((meta.currentTradingPeriod as { regular?: unknown } | undefined)?.regular);
  return ends;
}

/**
 * Daily bars are re-stamped to 00:00 UTC of their exchange-local trading date: Yahoo stamps them at
 * the session open (AAPL 13:30Z/14:30Z across DST, GC=F 05:00Z, WSU.DE 07:00Z), which would make
 * the same trading day look like different bars depending on the instrument.
 */
function dailyTs(epochS: number, offsetOf: (ms: number) => number): number {
  const ms = epochS * 1000;
  const local = new Date(ms + offsetOf(ms));
  return Date.UTC(local.getUTCFullYear(), local.getUTCMonth(), local.getUTCDate());
}

const OFFSET_WINDOW_MS = 14 * 86_400_000;

/**
 * UTC offset lookups for one body. Intl's formatToParts costs tens of microseconds, so offsets are
 * probed at both ends of 14-day windows: equal ends mean no transition inside (no time zone changes
 * its offset twice within 14 days), and every bar in the window reuses the value.
 */
function offsetLookup(timeZone: string | undefined, gmtoffsetS: number): (ms: number) => number {
  if (!timeZone || !isKnownTimeZone(timeZone)) return () => gmtoffsetS * 1000;
  let from = NaN;
  let to = NaN;
  let offset = 0;
  return (ms) => {
    if (ms >= from && ms <= to) return offset;
    const here = zoneOffsetMs(ms, timeZone);
    if (zoneOffsetMs(ms + OFFSET_WINDOW_MS, timeZone) === here) {
      from = ms;
      to = ms + OFFSET_WINDOW_MS;
      offset = here;
    }
    return here;
  };
}

/** Reads the `chart.error` of a body, if any: `{ code, description }`. */
export function chartError(body: unknown): { code: string; description: string } | null {
  const err = (body as { chart?: { error?: unknown } } | null)?.chart?.error;
  if (!err || typeof err !== 'object') return null;
  const e = err as { code?: unknown; description?: unknown };
  return {
    code: typeof e.code === 'string' ? e.code : 'unknown',
    description: typeof e.description === 'string' ? e.description : '',
  };
}

/**
 * Parses a v8 chart body into bars (unsorted duplicates already resolved by the caller's
 * finishBars). Rules, all counted in `stats`:
 * - all-null rows (no trades, e.g. AAPL 15:15Z) are skipped, never turned into zeros;
 * - points outside [from, to) are dropped;
 * - with includePrePost=false, an intraday point stamped exactly at a regular session's END is a
 *   closing price snapshot (Yahoo appends one at `meta.regularMarketTime`), not a bar: dropped;
 * - an intraday point off the bar grid (the live point, stamped at the last trade time) is folded
 *   into the bar that contains it: high/low widened, close replaced.
 */
export function parseChartBars(body: unknown, ctx: ChartParseContext): Bar[] {
  const result = (body as { chart?: { result?: unknown } } | null)?.chart?.result;
  if (!Array.isArray(result) || result.length === 0 || typeof result[0] !== 'object' || result[0] === null) {
    throw new FetchError({
      kind: 'malformed',
      source: 'yahoo',
      symbol: ctx.symbol,
      message: 'chart body has no result',
    });
  }
  const r = result[0] as {
    meta?: Record<string, unknown>;
    timestamp?: unknown;
    indicators?: { quote?: unknown[] };
  };
  const meta = r.meta ?? {};
  const timestamps = r.timestamp;
  if (timestamps === undefined) return []; // empty window (weekend, period1 == period2, no data yet)
  const quote = (r.indicators?.quote?.[0] ?? {}) as Record<string, unknown[] | undefined>;
  if (!Array.isArray(timestamps)) {
    throw new FetchError({
      kind: 'malformed',
      source: 'yahoo',
      symbol: ctx.symbol,
      message: 'chart timestamp is not an array',
    });
  }
  const col = (name: string, i: number): unknown => quote[name]?.[i] ?? null;
  // Yahoo's chart prices are float32 values widened to double: store the decimal meant.
  const price = ctx.rawPrices
    ? col
    : (name: string, i: number): unknown => {
        const v = col(name, i);
        return typeof v === 'number' ? shortestFloat32Decimal(v) : v;
      };
  const daily = ctx.timeframe === '1d';
  const ivMs = TIMEFRAME_MS[ctx.timeframe];
  const sessionEnds = ctx.includePrePost || daily ? new Set<number>() : regularSessionEnds(meta);
  const tz = typeof meta.exchangeTimezoneName === 'string' ? meta.exchangeTimezoneName : undefined;
  const offsetOf = offsetLookup(tz, typeof meta.gmtoffset === 'number' ? meta.gmtoffset : 0);
  const from = ctx.from ?? -Infinity;
  const to = ctx.to ?? Infinity;

  const out: Bar[] = [];
  const index = new Map<number, number>(); // ts -> position in out, for folding the live point
  let anchor: number | undefined; // first on-grid open: intraday grids may be offset (1h bars at :30)
  for (let i = 0; i < timestamps.length; i++) {
    const t = timestamps[i];
    if (typeof t !== 'number' || !Number.isFinite(t)) {
      ctx.stats.partialRowsSkipped++;
      continue;
    }
    if (sessionEnds.has(t)) {
      ctx.stats.outOfRangePointsDropped++;
      continue;
    }
    let ts = daily ? dailyTs(t, offsetOf) : t * 1000;
    let live = false;
    if (!daily) {
      anchor ??= ts % 60_000 === 0 ? ts : undefined;
      const base = anchor ?? ts - (ts % 60_000);
      const off = (((ts - base) % ivMs) + ivMs) % ivMs;
      if (off !== 0) {
        ts -= off;
        live = true;
      }
    }
    if (ts < from || ts >= to) {
      ctx.stats.outOfRangePointsDropped++;
      continue;
    }
    const bar = rowToBar(
      {
        open: price('open', i),
        high: price('high', i),
        low: price('low', i),
        close: price('close', i),
        volume: col('volume', i),
      },
      { symbol: ctx.symbol, timeframe: ctx.timeframe, ts, source: 'yahoo' },
      ctx.stats,
    );
    if (!bar) continue;
    const at = index.get(ts);
    const prev = at === undefined ? undefined : out[at];
    if (live && at !== undefined && prev !== undefined) {
      out[at] = {
        ...prev,
        high: Math.max(prev.high, bar.high),
        low: Math.min(prev.low, bar.low),
        close: bar.close,
      };
      ctx.stats.livePointsMerged++;
      continue;
    }
    if (live) ctx.stats.livePointsMerged++;
    index.set(ts, out.length);
    out.push(bar);
  }
  return out;
}

/** The latest quote of one symbol from a v7 quote body. */
export interface YahooQuote {
  /** Generic symbol. */
  symbol: string;
  /** Yahoo's symbol, e.g. `EURUSD=X`. */
  providerSymbol: string;
  /** Regular-market price. */
  price: number;
  /** Time of that price, epoch ms. */
  ts: number;
  /** `REGULAR`, `PRE`, `POST`, `CLOSED`, ... as Yahoo sends it. */
  marketState: string | null;
  /** Pre/post-market price when Yahoo sends one. */
  extendedHoursPrice: number | null;
  currency: string | null;
}

/** Finds `providerSymbol` in a v7 quote body; null when Yahoo left it out (unknown symbols are omitted). */
export function parseQuote(body: unknown, providerSymbol: string, symbol: string): YahooQuote | null {
  const res = (body as { quoteResponse?: { result?: unknown } } | null)?.quoteResponse?.result;
  if (!Array.isArray(res))
    throw new FetchError({
      kind: 'malformed',
      source: 'yahoo',
      symbol,
      message: 'quote body has no quoteResponse.result',
    });
  const q = res.find((x) => (x as { symbol?: unknown } | null)?.symbol === providerSymbol) as
    Record<string, unknown> | undefined;
  if (!q) return null;
  const price = q.regularMarketPrice;
  const time = q.regularMarketTime;
  if (typeof price !== 'number' || !(price > 0) || typeof time !== 'number') {
    throw new FetchError({
      kind: 'malformed',
      source: 'yahoo',
      symbol,
      message: `quote of ${providerSymbol} lacks a price or time`,
    });
  }
  const ext =
    q.marketState === 'PRE'
      ? q.preMarketPrice
      : q.marketState === 'POST' || q.marketState === 'POSTPOST' || q.marketState === 'CLOSED'
        ? q.postMarketPrice
        : undefined;
  return {
    symbol,
    providerSymbol,
    price,
    ts: time * 1000,
    marketState: typeof q.marketState === 'string' ? q.marketState : null,
    extendedHoursPrice: typeof ext === 'number' ? ext : null,
    currency: typeof q.currency === 'string' ? q.currency : null,
  };
}
