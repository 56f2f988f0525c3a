import {
  FetchError,
  isFetchError,
  TIMEFRAME_MS,
  assertNumberOption,
  resolveOptions,
  systemClock,
  type Bar,
  type Clock,
  type FetchHistoryRequest,
  type FetchLatestRequest,
  type SourceCapabilities,
  type Timeframe,
} from '@pipeline/core';
import { type SymbolMapper } from '@pipeline/symbol-mapper';
import { type BatchFetcher, type FetchLatestManyRequest, type FetchLatestManyResult } from '../base/batch';
import { type FetcherStats } from '../base/stats';
import { checkRequest, runChunked, throwIfAborted } from '../base/fetcher-kit';
import { HTTP_TRANSPORT_DEFAULTS, HttpFetcherBase, type HttpTransportOptions } from '../base/http-fetcher';
import { assertApiKeyOption, assertBaseUrlOption, assertBooleanOption } from '../base/options';
import { resolveAlignedNames } from '../base/options';
import { type RateLimits } from '../rate/rate-budget';
import { parseRetryAfter } from '../http/client';
import {
  POLYGON_MAX_AGGREGATES,
  POLYGON_TIMESPANS,
  decodePolygonBody,
  parsePolygonAggs,
  parsePolygonLastQuote,
  parsePolygonLastTrade,
  parsePolygonSnapshot,
  polygonMaxRangeMs,
  type PolygonLastQuote,
  type PolygonLastTrade,
  type PolygonSnapshot,
} from './parse';

/** Polygon's public REST root; `next_url`s pointing here are re-based onto `baseUrl`. */
export const POLYGON_PUBLIC_URL = 'https://api.polygon.io';

export interface PolygonFetcherOptions extends HttpTransportOptions {
  /** Polygon API key, sent as the `apiKey` query parameter (masked in every error). Required. */
  apiKey: string;
  /** API root; tests pass a local fixture server. @default 'https://api.polygon.io' */
  baseUrl: string;
  /** @deprecated use `rateLimits.perMinute`. Requests per rolling minute; null: no local limit (paid plans). @default 5 (free plan) */
  perMinute: number | null | undefined;
  /**
   * Request budget overrides (`perSecond`, `perMinute`, `perDay`; null: no local limit), the name every
   * provider takes. @default the free plan's (`DEFAULT_RATE_LIMITS`)
   */
  rateLimits: Partial<RateLimits> | undefined;
  /** @deprecated use `rateLimits.perDay`. Requests per UTC day; null: no local limit. @default null */
  perDay: number | null | undefined;
  /** Time source: forming-bar detection, latest-window, rate windows. @default systemClock */
  clock: Clock;
  /** Generic <-> Polygon tickers. @default createSymbolMapper() */
  symbolMapper: SymbolMapper | undefined;
  /** Split-adjusted prices (`adjusted=true`). @default true */
  adjusted: boolean;
  /** @deprecated use `latestLimit`. Bars `fetchLatest` returns when the request has no `limit`. @default 10 */
  defaultLatestLimit: number;
  /** Bars `fetchLatest` returns when the request has no `limit`, the name every provider takes. Unit: bars. @default 10 */
  latestLimit: number | undefined;
  /** Safety stop for one `fetchHistory` call (chunks plus next_url pages). Unit: requests. @default 500 */
  maxPagesPerHistory: number;
}

export const POLYGON_FETCHER_DEFAULTS: Readonly<PolygonFetcherOptions> = Object.freeze<PolygonFetcherOptions>(
  {
    apiKey: '',
    baseUrl: POLYGON_PUBLIC_URL,
    ...HTTP_TRANSPORT_DEFAULTS,
    perMinute: undefined,
    perDay: undefined,
    rateLimits: undefined,
    clock: systemClock,
    symbolMapper: undefined,
    adjusted: true,
    defaultLatestLimit: 10,
    latestLimit: undefined,
    maxPagesPerHistory: 500,
  },
);

const DAY_MS = 86_400_000;
const TIMEFRAMES = Object.keys(POLYGON_TIMESPANS) as Timeframe[];

function resolvePolygonOptions(
  options: Partial<PolygonFetcherOptions> & { apiKey: string },
): Readonly<PolygonFetcherOptions> {
  const C = 'PolygonFetcher';
  const raw = resolveOptions(C, POLYGON_FETCHER_DEFAULTS, options);
  const aligned = resolveAlignedNames(C, options, 10);
  const o = Object.freeze({
    ...raw,
    latestLimit: aligned.latestLimit,
    defaultLatestLimit: aligned.latestLimit,
    rateLimits: aligned.rateLimits,
  });
  assertApiKeyOption(C, o.apiKey);
  assertBaseUrlOption(C, o.baseUrl);
  assertBooleanOption(C, 'adjusted', o.adjusted);
  assertNumberOption(
    C,
    // Name the option the caller wrote (the deprecated alias too).
    options.latestLimit === undefined && options.defaultLatestLimit !== undefined
      ? 'defaultLatestLimit'
      : 'latestLimit',
    o.latestLimit,
    1,
    POLYGON_MAX_AGGREGATES,
  );
  assertNumberOption(C, 'maxPagesPerHistory', o.maxPagesPerHistory, 1);
  return o;
}

/**
 * Polygon REST (aggregates, previous close, last trade) behind core's Fetcher.
 *
 * History is split so that no request can reach the 50,000-aggregate cap, and each request follows
 * `next_url` (adding the apiKey, which Polygon leaves out of it) until the last page.
 */
/** A Polygon REST fetcher: core's Fetcher plus the batch snapshot, last trade/quote, snapshot and counters. */
export interface PolygonFetcher extends BatchFetcher {
  readonly source: 'polygon';
  /** The resolved options (defaults filled in, frozen). */
  readonly options: Readonly<PolygonFetcherOptions>;
  /** The previous trading day's bar (`/v2/aggs/ticker/{t}/prev`), or null. */
  prevClose(symbol: string, options?: { signal?: AbortSignal }): Promise<Bar | null>;
  lastTrade(symbol: string, options?: { signal?: AbortSignal }): Promise<PolygonLastTrade>;
  lastQuote(symbol: string, options?: { signal?: AbortSignal }): Promise<PolygonLastQuote>;
  /** The ticker snapshot (today so far, latest minute, previous day, last trade and quote). */
  snapshot(symbol: string, options?: { signal?: AbortSignal }): Promise<PolygonSnapshot>;
  stats(): FetcherStats;
}

// One provider idiom (issue 12): a factory returning an interface; the class stays internal.
class PolygonFetcherImpl extends HttpFetcherBase<'polygon'> implements PolygonFetcher {
  readonly capabilities: SourceCapabilities;
  readonly options: Readonly<PolygonFetcherOptions>;
  private readonly base: string;

  constructor(options: Partial<PolygonFetcherOptions> & { apiKey: string }) {
    const o = resolvePolygonOptions(options);
    super({
      source: 'polygon',
      http: o.http,
      poolSize: o.poolSize,
      timeoutMs: o.timeoutMs,
      clock: o.clock,
      secrets: [o.apiKey],
      rateLimits: o.rateLimits,
      symbolMapper: o.symbolMapper,
      // Polygon has no daily quota message; a 429 pauses only as long as its Retry-After says.
      ratePolicy: { dailyPattern: null, pauseMs: undefined },
    });
    this.options = o;
    this.base = o.baseUrl.replace(/\/$/, '');
    this.capabilities = Object.freeze({
      ...this.keyedCapabilities(TIMEFRAMES, polygonMaxRangeMs, POLYGON_MAX_AGGREGATES, true),
      // The multi-ticker snapshot: one request per market for any number of tickers, one bar each.
      batchLatest: Object.freeze({
        timeframes: Object.freeze(['1m', '1d'] as const),
        maxSymbols: POLYGON_MAX_SNAPSHOT_TICKERS,
        maxLimit: 1,
        costPerSymbol: 0,
      }),
    });
  }

  /**
   * The newest `limit` bars: one `sort=desc&limit=N` aggregates request over a window wide enough
   * to span weekends and holidays (3x the bars asked for, at least 5 days).
   */
  async fetchLatest(request: FetchLatestRequest): Promise<Bar[]> {
    const { symbol } = request;
    return this.accounted(symbol, async () => {
      checkRequest('polygon', request, false);
      const { timeframe } = request;
      const limit = Math.min(request.limit ?? this.options.defaultLatestLimit, POLYGON_MAX_AGGREGATES);
      const ticker = this.providerSymbol(symbol);
      const now = this.clock.now();
      const from = now - Math.max(limit * TIMEFRAME_MS[timeframe] * 3, 5 * DAY_MS);
      const obj = await this.get(
        this.aggsPath(ticker, timeframe, from, now),
        { adjusted: this.options.adjusted, sort: 'desc', limit },
        symbol,
        request.signal,
      );
      const { bars } = parsePolygonAggs(obj, { symbol, timeframe, ticker }, this.counters);
      return this.deliverLatest(bars, limit);
    });
  }

  async fetchHistory(request: FetchHistoryRequest): Promise<Bar[]> {
    const { symbol } = request;
    return this.accounted(symbol, async () => {
      checkRequest('polygon', request, true);
      const { timeframe, from, to } = request;
      const ticker = this.providerSymbol(symbol);
      let pages = 0;
      const all = await runChunked('polygon', request, polygonMaxRangeMs(timeframe), async (chunk) => {
        const got: Bar[] = [];
        // Polygon's `to` is inclusive: ask up to the last millisecond before the chunk's end.
        let obj = await this.get(
          this.aggsPath(ticker, timeframe, chunk.from, chunk.to - 1),
          { adjusted: this.options.adjusted, sort: 'asc', limit: POLYGON_MAX_AGGREGATES },
          symbol,
          request.signal,
        );
        for (;;) {
          pages++;
          const parsed = parsePolygonAggs(obj, { symbol, timeframe, ticker }, this.counters);
          got.push(...parsed.bars);
          if (parsed.nextUrl === null) return got;
          if (pages >= this.options.maxPagesPerHistory) {
            throw new FetchError({
              kind: 'bad_request',
              source: 'polygon',
              symbol,
              message: `history needs more than maxPagesPerHistory (${this.options.maxPagesPerHistory}) requests`,
            });
          }
          throwIfAborted('polygon', request.signal, symbol);
          obj = await this.get(this.rebase(parsed.nextUrl), {}, symbol, request.signal);
        }
      });
      return this.deliverHistory(all, from, to, true);
    });
  }

  /** The previous trading day's bar (`/v2/aggs/ticker/{t}/prev`), as a final 1d bar. */
  async prevClose(symbol: string, options: { signal?: AbortSignal } = {}): Promise<Bar | null> {
    return this.accounted(symbol, async () => {
      const ticker = this.providerSymbol(symbol);
      const obj = await this.get(
        `/v2/aggs/ticker/${encodeURIComponent(ticker)}/prev`,
        { adjusted: this.options.adjusted },
        symbol,
        options.signal,
      );
      const { bars } = parsePolygonAggs(obj, { symbol, timeframe: '1d', ticker }, this.counters);
      return bars.at(-1) ?? null;
    });
  }

  /**
   * The last trade: `/v2/last/trade/{ticker}` for stocks, `/v1/last/crypto/{from}/{to}` for crypto.
   * Forex and indices have no trades (`not_supported`).
   */
  async lastTrade(symbol: string, options: { signal?: AbortSignal } = {}): Promise<PolygonLastTrade> {
    return this.accounted(symbol, async () => {
      const ticker = this.providerSymbol(symbol);
      let path: string;
      if (ticker.startsWith('X:')) {
        const inst = this.mapper.instrument(symbol);
        path = `/v1/last/crypto/${encodeURIComponent(inst.base)}/${encodeURIComponent(inst.quote)}`;
      } else if (/^[CI]:/.test(ticker)) {
        throw new FetchError({
          kind: 'not_supported',
          source: 'polygon',
          symbol,
          message: `${ticker} has no trades (forex and indices)`,
        });
      } else {
        path = `/v2/last/trade/${encodeURIComponent(ticker)}`;
      }
      const obj = await this.get(path, {}, symbol, options.signal);
      return parsePolygonLastTrade(obj, symbol);
    });
  }

  /**
   * The last quote: `/v2/last/nbbo/{ticker}` for stocks, `/v1/last_quote/currencies/{from}/{to}` for
   * forex and metals. Crypto and indices: `not_supported`.
   */
  async lastQuote(symbol: string, options: { signal?: AbortSignal } = {}): Promise<PolygonLastQuote> {
    return this.accounted(symbol, async () => {
      const ticker = this.providerSymbol(symbol);
      let path: string;
      if (ticker.startsWith('C:')) {
        const inst = this.mapper.instrument(symbol);
        path = `/v1/last_quote/currencies/${encodeURIComponent(inst.base)}/${encodeURIComponent(inst.quote)}`;
      } else if (/^[XI]:/.test(ticker)) {
        throw new FetchError({
          kind: 'not_supported',
          source: 'polygon',
          symbol,
          message: `no last-quote endpoint for ${ticker}`,
        });
      } else {
        path = `/v2/last/nbbo/${encodeURIComponent(ticker)}`;
      }
      const obj = await this.get(path, {}, symbol, options.signal);
      return parsePolygonLastQuote(obj, symbol);
    });
  }

  /** The ticker snapshot (today so far, latest minute, previous day, last trade and quote). Indices: `not_supported`. */
  async snapshot(symbol: string, options: { signal?: AbortSignal } = {}): Promise<PolygonSnapshot> {
    return this.accounted(symbol, async () => {
      const ticker = this.providerSymbol(symbol);
      const market = ticker.startsWith('C:')
        ? 'global/markets/forex'
        : ticker.startsWith('X:')
          ? 'global/markets/crypto'
          : 'us/markets/stocks';
      if (ticker.startsWith('I:')) {
        throw new FetchError({
          kind: 'not_supported',
          source: 'polygon',
          symbol,
          message: `no ticker snapshot for index ${ticker}`,
        });
      }
      const obj = await this.get(
        `/v2/snapshot/locale/${market}/tickers/${encodeURIComponent(ticker)}`,
        {},
        symbol,
        options.signal,
      );
      return parsePolygonSnapshot(obj, symbol);
    });
  }

  /**
   * The latest bar of many tickers in one request per market (the multi-ticker snapshot
   * `/v2/snapshot/locale/{us|global}/markets/{market}/tickers?tickers=A,B`): `1m` is each ticker's
   * latest minute (`min`), `1d` today's bar so far (`day`, stamped 00:00 UTC of the clock's date). One
   * bar per symbol (`limit` above 1 is `bad_request`: the snapshot holds one). Indices, tickers the
   * answer leaves out and tickers without a bar come back as per-symbol FetchErrors.
   */
  async fetchLatestMany(request: FetchLatestManyRequest): Promise<FetchLatestManyResult> {
    const { symbols, timeframe, signal } = request;
    const out: FetchLatestManyResult = new Map();
    return this.accounted(undefined, async () => {
      if (timeframe !== '1m' && timeframe !== '1d') throw this.unsupported(timeframe);
      if (request.limit !== undefined && request.limit !== 1) {
        throw new FetchError({
          kind: 'bad_request',
          source: 'polygon',
          message: `the snapshot holds one bar per ticker: limit must be 1, got ${JSON.stringify(request.limit)}`,
        });
      }
      const byMarket = new Map<string, Map<string, string>>(); // market path -> ticker -> generic
      for (const symbol of symbols) {
        try {
          const ticker = this.providerSymbol(symbol);
          if (ticker.startsWith('I:')) {
            throw new FetchError({
              kind: 'not_supported',
              source: 'polygon',
              symbol,
              message: `no ticker snapshot for index ${ticker}`,
            });
          }
          const market = snapshotMarket(ticker);
          const group = byMarket.get(market) ?? new Map<string, string>();
          byMarket.set(market, group.set(ticker, symbol));
        } catch (err) {
          out.set(symbol, asFetchError(err, symbol));
        }
      }
      for (const [market, tickers] of byMarket) {
        throwIfAborted('polygon', signal);
        const obj = await this.get(
          `/v2/snapshot/locale/${market}/tickers`,
          { tickers: [...tickers.keys()].join(',') },
          undefined,
          signal,
        );
        const list = Array.isArray(obj.tickers) ? (obj.tickers as unknown[]) : [];
        const found = new Map<string, Record<string, unknown>>();
        for (const t of list) {
          if (t !== null && typeof t === 'object' && typeof (t as { ticker?: unknown }).ticker === 'string') {
            found.set((t as { ticker: string }).ticker, t as Record<string, unknown>);
          }
        }
        for (const [ticker, symbol] of tickers) {
          const entry = found.get(ticker);
          if (entry === undefined) {
            out.set(
              symbol,
              new FetchError({
                kind: 'symbol_not_found',
                source: 'polygon',
                symbol,
                message: `the snapshot has no ${ticker}`,
              }),
            );
            continue;
          }
          const snap = parsePolygonSnapshot({ ticker: entry }, symbol);
          const part = timeframe === '1m' ? snap.minute : snap.day;
          const ts =
            timeframe === '1m'
              ? (part?.ts ?? null)
              : Math.floor(this.clock.now() / TIMEFRAME_MS['1d']) * TIMEFRAME_MS['1d'];
          if (part === null || ts === null) {
            out.set(
              symbol,
              new FetchError({
                kind: 'transient',
                source: 'polygon',
                symbol,
                message: `the snapshot of ${ticker} has no ${timeframe} bar yet`,
              }),
            );
            continue;
          }
          const bar: Bar = {
            symbol,
            timeframe,
            ts,
            open: part.open,
            high: part.high,
            low: part.low,
            close: part.close,
            volume: part.volume,
            source: 'polygon',
            final: true,
            quality: 1,
          };
          out.set(symbol, this.deliverLatest([bar], 1));
        }
      }
      return out;
    });
  }

  private aggsPath(ticker: string, timeframe: Timeframe, from: number, to: number): string {
    const { multiplier, timespan } = POLYGON_TIMESPANS[timeframe];
    // Millisecond bounds are exact where dates would round to whole days.
    return `/v2/aggs/ticker/${encodeURIComponent(ticker)}/range/${multiplier}/${timespan}/${Math.floor(from)}/${Math.floor(to)}`;
  }

  /** next_url is absolute on Polygon's public host; a proxy or test server in `baseUrl` keeps serving the pages. */
  private rebase(nextUrl: string): string {
    if (nextUrl.startsWith(POLYGON_PUBLIC_URL + '/') && this.base !== POLYGON_PUBLIC_URL) {
      return nextUrl.slice(POLYGON_PUBLIC_URL.length);
    }
    return nextUrl;
  }

  /** One budgeted GET of a path (or absolute URL); decodes the body or throws the matching FetchError. */
  private async get(
    pathOrUrl: string,
    params: Record<string, string | number | boolean>,
    symbol: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<Record<string, unknown>> {
    const url = /^https?:\/\//.test(pathOrUrl) ? pathOrUrl : `${this.base}${pathOrUrl}`;
    return this.getKeyed(
      url,
      params,
      { param: 'apiKey', value: this.options.apiKey },
      symbol,
      signal,
      (res, now) => {
        const retryAfterMs = parseRetryAfter(res.headers['retry-after'], now);
        return decodePolygonBody(res.status, res.body, {
          ...(symbol !== undefined ? { symbol } : {}),
          now,
          ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
        });
      },
    );
  }
}

/** Tickers per multi-ticker snapshot request (kept well inside URL length limits). */
export const POLYGON_MAX_SNAPSHOT_TICKERS = 250;

function snapshotMarket(ticker: string): string {
  if (ticker.startsWith('C:')) return 'global/markets/forex';
  if (ticker.startsWith('X:')) return 'global/markets/crypto';
  return 'us/markets/stocks';
}

function asFetchError(err: unknown, symbol: string): FetchError {
  return isFetchError(err)
    ? err
    : new FetchError({
        kind: 'symbol_not_found',
        source: 'polygon',
        symbol,
        message: String(err),
        cause: err,
      });
}

/** Creates a {@link PolygonFetcher}. */
export function createPolygonFetcher(
  options: Partial<PolygonFetcherOptions> & { apiKey: string },
): PolygonFetcher {
  return new PolygonFetcherImpl(options);
}
