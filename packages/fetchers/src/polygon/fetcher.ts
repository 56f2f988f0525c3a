import {
  FetchError,
  OptionsError,
  TIMEFRAME_MS,
  assertNumberOption,
  isFetchError,
  resolveOptions,
  systemClock,
  type Bar,
  type Clock,
  type FetchHistoryRequest,
  type FetchLatestRequest,
  type Fetcher,
  type RateBudgetSnapshot,
  type SourceCapabilities,
  type Timeframe,
} from '@pipeline/core';
import { createSymbolMapper, type SymbolMapper } from '@pipeline/symbol-mapper';
import { clipBars, finishBars, lastBars } from '../base/bars';
import { checkRequest, countFailure, runChunked, throwIfAborted } from '../base/fetcher-kit';
import { createFetcherStats, type FetcherStats } from '../base/stats';
import { toProviderSymbol } from '../base/symbols';
import { createHttpClient, HTTP_POOL_SIZE, parseRetryAfter, type HttpClient } from '../http/client';
import { redactSecrets } from '../http/redact';
import { createRateBudget, type RateBudget } from '../rate/rate-budget';
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

export interface PolygonFetcherOptions {
  /** Polygon API key, sent as the `apiKey` query parameter (masked in every error). Required. */
  apiKey: string;
  /** API root; tests pass a local fixture server. @default 'https://api.polygon.io' */
  baseUrl: string;
  /** HTTP client to share; when absent one is created with `poolSize` and `timeoutMs` and closed by `close()`. @default undefined */
  http: HttpClient | undefined;
  /** Keep-alive sockets of the client created here. Unit: sockets. @default 10 (HTTP_POOL_SIZE) */
  poolSize: number;
  /** Whole-request timeout of the client created here. Unit: ms. @default 10000 */
  timeoutMs: number;
  /** Requests per rolling minute; null: no local limit (paid plans). Unit: requests. @default 5 (free plan) */
  perMinute: number | null | undefined;
  /** Requests per UTC day; null: no local limit. Unit: requests. @default null */
  perDay: number | null | undefined;
  /** Time source: forming-bar detection, latest-window, rate windows. @default systemClock */
  clock: Clock;
  /** Generic <-> Polygon tickers. @default createSymbolMapper() */
  symbolMapper: SymbolMapper | undefined;
  /** Split-adjusted prices (`adjusted=true`). @default true */
  adjusted: boolean;
  /** Bars `fetchLatest` returns when the request has no `limit`. Unit: bars. @default 10 */
  defaultLatestLimit: number;
  /** Safety stop for one `fetchHistory` call (chunks plus next_url pages). Unit: requests. @default 500 */
  maxPagesPerHistory: number;
}

export const POLYGON_FETCHER_DEFAULTS: Readonly<PolygonFetcherOptions> = Object.freeze<PolygonFetcherOptions>(
  {
    apiKey: '',
    baseUrl: POLYGON_PUBLIC_URL,
    http: undefined,
    poolSize: HTTP_POOL_SIZE,
    timeoutMs: 10_000,
    perMinute: undefined,
    perDay: undefined,
    clock: systemClock,
    symbolMapper: undefined,
    adjusted: true,
    defaultLatestLimit: 10,
    maxPagesPerHistory: 500,
  },
);

const DAY_MS = 86_400_000;
const TIMEFRAMES = Object.keys(POLYGON_TIMESPANS) as Timeframe[];

/**
 * Polygon REST (aggregates, previous close, last trade) behind core's Fetcher.
 *
 * History is split so that no request can reach the 50,000-aggregate cap, and each request follows
 * `next_url` (adding the apiKey, which Polygon leaves out of it) until the last page.
 */
export class PolygonFetcher implements Fetcher {
  readonly source = 'polygon' as const;
  readonly capabilities: SourceCapabilities;
  readonly options: Readonly<PolygonFetcherOptions>;
  private readonly http: HttpClient;
  private readonly ownsHttp: boolean;
  private readonly rate: RateBudget;
  private readonly mapper: SymbolMapper;
  private readonly clock: Clock;
  private readonly base: string;
  private readonly counters: FetcherStats = createFetcherStats();

  constructor(options: Partial<PolygonFetcherOptions> & { apiKey: string }) {
    const o = resolveOptions('PolygonFetcher', POLYGON_FETCHER_DEFAULTS, options);
    if (typeof o.apiKey !== 'string' || o.apiKey.trim() === '') {
      throw new OptionsError('PolygonFetcher: option "apiKey" must be a non-empty string');
    }
    if (typeof o.baseUrl !== 'string' || !/^https?:\/\//.test(o.baseUrl)) {
      throw new OptionsError(
        `PolygonFetcher: option "baseUrl" must be an http(s) URL, got ${JSON.stringify(o.baseUrl)}`,
      );
    }
    if (typeof o.adjusted !== 'boolean') {
      throw new OptionsError(
        `PolygonFetcher: option "adjusted" must be a boolean, got ${JSON.stringify(o.adjusted)}`,
      );
    }
    assertNumberOption(
      'PolygonFetcher',
      'defaultLatestLimit',
      o.defaultLatestLimit,
      1,
      POLYGON_MAX_AGGREGATES,
    );
    assertNumberOption('PolygonFetcher', 'maxPagesPerHistory', o.maxPagesPerHistory, 1);
    this.options = o;
    this.clock = o.clock;
    this.base = o.baseUrl.replace(/\/$/, '');
    this.ownsHttp = o.http === undefined;
    this.http =
      o.http ??
      createHttpClient({
        source: 'polygon',
        poolSize: o.poolSize,
        timeoutMs: o.timeoutMs,
        secrets: [o.apiKey],
        clock: o.clock,
      });
    this.rate = createRateBudget({
      source: 'polygon',
      perMinute: o.perMinute,
      perDay: o.perDay,
      clock: o.clock,
    });
    this.mapper = o.symbolMapper ?? createSymbolMapper();
    const maxRange: Partial<Record<Timeframe, number>> = {};
    for (const tf of TIMEFRAMES) maxRange[tf] = polygonMaxRangeMs(tf);
    this.capabilities = Object.freeze({
      source: 'polygon',
      timeframes: Object.freeze([...TIMEFRAMES]),
      historyDepthMs: {},
      maxRangeMsPerRequest: maxRange,
      maxBarsPerRequest: POLYGON_MAX_AGGREGATES,
      needsApiKey: true,
      rateLimits: { perMinute: this.rate.limits.perMinute, perDay: this.rate.limits.perDay },
      streaming: true,
    });
  }

  /** A copy of the counters (requests, failures, bars, skipped rows, ...). */
  stats(): FetcherStats {
    return { ...this.counters };
  }

  budget(): RateBudgetSnapshot {
    return this.rate.snapshot();
  }

  /**
   * The newest `limit` bars: one `sort=desc&limit=N` aggregates request over a window wide enough
   * to span weekends and holidays (3x the bars asked for, at least 5 days).
   */
  async fetchLatest(request: FetchLatestRequest): Promise<Bar[]> {
    const { symbol } = request;
    try {
      checkRequest('polygon', request, false);
      const { timeframe } = request;
      const limit = Math.min(request.limit ?? this.options.defaultLatestLimit, POLYGON_MAX_AGGREGATES);
      const ticker = toProviderSymbol(this.mapper, symbol, 'polygon');
      const now = this.clock.now();
      const from = now - Math.max(limit * TIMEFRAME_MS[timeframe] * 3, 5 * DAY_MS);
      const obj = await this.get(
        this.aggsPath(ticker, timeframe, from, now),
        { adjusted: this.options.adjusted, sort: 'desc', limit },
        symbol,
        request.signal,
      );
      const { bars } = parsePolygonAggs(obj, { symbol, timeframe, ticker }, this.counters);
      const out = lastBars(finishBars(bars, this.clock), limit);
      this.counters.bars += out.length;
      return out;
    } catch (err) {
      return countFailure('polygon', this.counters, err, symbol);
    }
  }

  async fetchHistory(request: FetchHistoryRequest): Promise<Bar[]> {
    const { symbol } = request;
    try {
      checkRequest('polygon', request, true);
      const { timeframe, from, to } = request;
      const ticker = toProviderSymbol(this.mapper, symbol, 'polygon');
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
      const finished = finishBars(all, this.clock);
      const clipped = clipBars(finished, from, to);
      this.counters.outOfRangePointsDropped += finished.length - clipped.length;
      this.counters.bars += clipped.length;
      return clipped;
    } catch (err) {
      return countFailure('polygon', this.counters, err, symbol);
    }
  }

  /** The previous trading day's bar (`/v2/aggs/ticker/{t}/prev`), as a final 1d bar. */
  async prevClose(symbol: string, options: { signal?: AbortSignal } = {}): Promise<Bar | null> {
    try {
      const ticker = toProviderSymbol(this.mapper, symbol, 'polygon');
      const obj = await this.get(
        `/v2/aggs/ticker/${encodeURIComponent(ticker)}/prev`,
        { adjusted: this.options.adjusted },
        symbol,
        options.signal,
      );
      const { bars } = parsePolygonAggs(obj, { symbol, timeframe: '1d', ticker }, this.counters);
      return bars.at(-1) ?? null;
    } catch (err) {
      return countFailure('polygon', this.counters, err, symbol);
    }
  }

  /**
   * The last trade: `/v2/last/trade/{ticker}` for stocks, `/v1/last/crypto/{from}/{to}` for crypto.
   * Forex and indices have no trades (`not_supported`).
   */
  async lastTrade(symbol: string, options: { signal?: AbortSignal } = {}): Promise<PolygonLastTrade> {
    try {
      const ticker = toProviderSymbol(this.mapper, symbol, 'polygon');
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
    } catch (err) {
      return countFailure('polygon', this.counters, err, symbol);
    }
  }

  /**
   * The last quote: `/v2/last/nbbo/{ticker}` for stocks, `/v1/last_quote/currencies/{from}/{to}` for
   * forex and metals. Crypto and indices: `not_supported`.
   */
  async lastQuote(symbol: string, options: { signal?: AbortSignal } = {}): Promise<PolygonLastQuote> {
    try {
      const ticker = toProviderSymbol(this.mapper, symbol, 'polygon');
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
    } catch (err) {
      return countFailure('polygon', this.counters, err, symbol);
    }
  }

  /** The ticker snapshot (today so far, latest minute, previous day, last trade and quote). Indices: `not_supported`. */
  async snapshot(symbol: string, options: { signal?: AbortSignal } = {}): Promise<PolygonSnapshot> {
    try {
      const ticker = toProviderSymbol(this.mapper, symbol, 'polygon');
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
    } catch (err) {
      return countFailure('polygon', this.counters, err, symbol);
    }
  }

  async close(): Promise<void> {
    if (this.ownsHttp) await this.http.close();
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
    this.rate.take(symbol);
    this.counters.requests++;
    const url = /^https?:\/\//.test(pathOrUrl) ? pathOrUrl : `${this.base}${pathOrUrl}`;
    const res = await this.http.getText(url, {
      searchParams: { ...params, apiKey: this.options.apiKey },
      ...(signal !== undefined ? { signal } : {}),
    });
    const now = this.clock.now();
    try {
      const retryAfterMs = parseRetryAfter(res.headers['retry-after'], now);
      return decodePolygonBody(res.status, res.body, {
        ...(symbol !== undefined ? { symbol } : {}),
        now,
        ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
      });
    } catch (err) {
      if (!isFetchError(err)) throw err;
      if (err.kind === 'rate_limited' && err.retryAfterMs !== undefined) this.rate.block(err.retryAfterMs);
      // Provider text goes into the message: make sure it cannot carry the key back out.
      const text = err.message.replace(/^\[polygon\] /, '');
      const safe = redactSecrets(text, [this.options.apiKey]);
      if (safe === text) throw err;
      throw new FetchError({
        kind: err.kind,
        source: 'polygon',
        status: err.status,
        retryAfterMs: err.retryAfterMs,
        symbol: err.symbol,
        message: safe,
      });
    }
  }
}

/** Creates a {@link PolygonFetcher}. */
export function createPolygonFetcher(
  options: Partial<PolygonFetcherOptions> & { apiKey: string },
): PolygonFetcher {
  return new PolygonFetcher(options);
}
