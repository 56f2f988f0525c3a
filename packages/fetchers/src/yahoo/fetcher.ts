import {
  FetchError,
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
  type SourceCapabilities,
  type Timeframe,
} from '@pipeline/core';
import { type SymbolMapper } from '@pipeline/symbol-mapper';
import { resampleBars } from '../base/bars';
import { checkRequest, runChunked } from '../base/fetcher-kit';
import { HTTP_TRANSPORT_DEFAULTS, HttpFetcherBase, type HttpTransportOptions } from '../base/http-fetcher';
import { assertBaseUrlOption, assertBooleanOption, assertHttpSourceOption } from '../base/options';
import { type FetcherStats } from '../base/stats';
import { type HttpResponse } from '../http/client';
import { type RateLimits } from '../rate/rate-budget';
import { YAHOO_INTERVALS, chartError, parseChartBars, parseQuote, type YahooQuote } from './parse';

const DAY = TIMEFRAME_MS['1d'];

export interface YahooFetcherOptions extends HttpTransportOptions {
  /** Origin of the chart and quote endpoints (a mirror or a test server). @default 'https://query2.finance.yahoo.com' */
  baseUrl: string;
  /** Overrides of the request budget (Yahoo publishes none). @default { perMinute: 60, perDay: null } */
  rateLimits: Partial<RateLimits> | undefined;
  /** Time source for forming bars, budgets and `fetchLatest` windows. @default systemClock */
  clock: Clock;
  /** Generic <-> Yahoo symbols. @default createSymbolMapper() */
  symbolMapper: SymbolMapper | undefined;
  /** Ask for pre- and post-market bars of equities. @default false */
  includePrePost: boolean;
  /** Bars `fetchLatest` returns when the request gives no `limit`. @default 100 */
  latestLimit: number;
  /**
   * How long to stop sending after a `429` without `Retry-After`, in ms (Yahoo sends none).
   * @default 60000
   */
  rateLimitPauseMs: number;
  /**
   * Keep chart prices exactly as Yahoo sends them: float32 values widened to double
   * (`225.88999938964844`). By default each price is the shortest decimal with the same float32
   * (`225.89`), so Yahoo's bars equal other sources' for the same minute. @default false
   */
  rawPrices: boolean;
}

export const YAHOO_FETCHER_DEFAULTS: Readonly<YahooFetcherOptions> = Object.freeze({
  baseUrl: 'https://query2.finance.yahoo.com',
  ...HTTP_TRANSPORT_DEFAULTS,
  rateLimits: undefined,
  clock: systemClock,
  symbolMapper: undefined,
  includePrePost: false,
  latestLimit: 100,
  rateLimitPauseMs: 60_000,
  rawPrices: false,
});

/**
 * Yahoo's documented-by-experience limits: 1m bars only for the last 30 days and 7 days per
 * request; 5m-30m 60 days; 1h 730 days; 1d unlimited. 4h is resampled from 1h (same limits).
 */
export const YAHOO_CAPABILITIES: SourceCapabilities = Object.freeze({
  source: 'yahoo',
  timeframes: Object.freeze(['1m', '5m', '15m', '30m', '1h', '4h', '1d'] as const),
  historyDepthMs: Object.freeze({
    '1m': 30 * DAY,
    '5m': 60 * DAY,
    '15m': 60 * DAY,
    '30m': 60 * DAY,
    '1h': 730 * DAY,
    '4h': 730 * DAY,
  }),
  maxRangeMsPerRequest: Object.freeze({
    '1m': 7 * DAY,
    '5m': 60 * DAY,
    '15m': 60 * DAY,
    '30m': 60 * DAY,
    '1h': 730 * DAY,
    '4h': 730 * DAY,
  }),
  needsApiKey: false,
  rateLimits: Object.freeze({ perMinute: 60, perDay: null }),
  streaming: false,
});

/** The Yahoo fetcher: core's {@link Fetcher} plus counters and the v7 quote. */
export interface YahooFetcher extends Fetcher {
  readonly source: 'yahoo';
  /** The latest regular-market price from `/v7/finance/quote` (live Yahoo wants a crumb for it; see README). */
  fetchQuote(symbol: string, signal?: AbortSignal): Promise<YahooQuote>;
  stats(): FetcherStats;
}

function validate(opts: Readonly<YahooFetcherOptions>): void {
  const C = 'createYahooFetcher';
  assertBaseUrlOption(C, opts.baseUrl);
  assertNumberOption(C, 'poolSize', opts.poolSize, 1, 1024);
  assertNumberOption(C, 'timeoutMs', opts.timeoutMs, 1, 600_000);
  assertNumberOption(C, 'latestLimit', opts.latestLimit, 1, 100_000);
  assertNumberOption(C, 'rateLimitPauseMs', opts.rateLimitPauseMs, 0);
  assertHttpSourceOption(C, opts.http, 'yahoo');
  assertBooleanOption(C, 'includePrePost', opts.includePrePost);
  assertBooleanOption(C, 'rawPrices', opts.rawPrices);
}

/** Yahoo `range` spans, shortest first, used by fetchLatest to ask for "the last N bars". */
const RANGES: readonly [[string, number], ...Array<[string, number]>] = [
  ['1d', DAY],
  ['5d', 5 * DAY],
  ['1mo', 31 * DAY],
  ['3mo', 92 * DAY],
  ['6mo', 183 * DAY],
  ['1y', 366 * DAY],
  ['2y', 731 * DAY],
  ['5y', 1827 * DAY],
  ['10y', 3653 * DAY],
  ['max', Infinity],
];

class YahooFetcherImpl extends HttpFetcherBase<'yahoo'> implements YahooFetcher {
  readonly capabilities = YAHOO_CAPABILITIES;
  private readonly base: string;

  constructor(private readonly opts: Readonly<YahooFetcherOptions>) {
    super({
      source: 'yahoo',
      http: opts.http,
      poolSize: opts.poolSize,
      timeoutMs: opts.timeoutMs,
      clock: opts.clock,
      rateLimits: opts.rateLimits,
      symbolMapper: opts.symbolMapper,
      // Yahoo sends no Retry-After and publishes no quota: pause for the configured time.
      ratePolicy: { dailyPattern: null, pauseMs: opts.rateLimitPauseMs },
    });
    this.base = opts.baseUrl.replace(/\/+$/, '');
  }

  async fetchLatest(req: FetchLatestRequest): Promise<Bar[]> {
    checkRequest('yahoo', req, false);
    const limit = req.limit ?? this.opts.latestLimit;
    return this.accounted(req.symbol, async () => {
      const native: Timeframe = req.timeframe === '4h' ? '1h' : req.timeframe;
      this.assertTimeframe(req.timeframe, req.symbol);
      const needMs = limit * TIMEFRAME_MS[req.timeframe];
      const cap = this.capabilities.maxRangeMsPerRequest[native] ?? Infinity;
      // Markets close: ask for the smallest range that still covers `limit` bars of wall time.
      const range =
        RANGES.find(([, ms]) => ms >= needMs && ms <= cap) ??
        RANGES.filter(([, ms]) => ms <= cap).at(-1) ??
        RANGES[0];
      const now = this.clock.now();
      // No bar can open after now (a recording or a skewed server may hold later ones).
      let bars = await this.chart(req.symbol, native, { range: range[0] }, { to: now + 1 }, req.signal);
      if (req.timeframe === '4h') bars = resampleBars(bars, '4h');
      return this.deliverLatest(bars, limit);
    });
  }

  async fetchHistory(req: FetchHistoryRequest): Promise<Bar[]> {
    checkRequest('yahoo', req, true);
    return this.accounted(req.symbol, async () => {
      this.assertTimeframe(req.timeframe, req.symbol);
      const native: Timeframe = req.timeframe === '4h' ? '1h' : req.timeframe;
      const now = this.clock.now();
      const depth = this.capabilities.historyDepthMs[native];
      let from = req.from;
      if (depth !== undefined && from < now - depth) {
        // Yahoo refuses the whole request (HTTP 422) when it starts before the depth: clip it.
        if (req.to <= now - depth) {
          throw new FetchError({
            kind: 'not_supported',
            source: 'yahoo',
            symbol: req.symbol,
            message: `${req.timeframe} history reaches back ${Math.round(depth / DAY)} days only`,
          });
        }
        from = now - depth + 60_000;
      }
      // A 4h bar needs its whole 1h span: widen to the 4h grid, resample, then clip.
      const wideFrom = req.timeframe === '4h' ? from - (from % TIMEFRAME_MS['4h']) : from;
      let bars = await runChunked(
        'yahoo',
        { ...req, from: wideFrom },
        this.capabilities.maxRangeMsPerRequest[native],
        (chunk) =>
          this.chart(
            req.symbol,
            native,
            { period1: Math.floor(chunk.from / 1000), period2: Math.ceil(chunk.to / 1000) },
            chunk,
            req.signal,
          ),
      );
      if (req.timeframe === '4h') bars = resampleBars(bars, '4h');
      // The parser already clips each chunk to its window and counts what it dropped.
      return this.deliverHistory(bars, from, req.to, false);
    });
  }

  async fetchQuote(symbol: string, signal?: AbortSignal): Promise<YahooQuote> {
    checkRequest('yahoo', { symbol, timeframe: '1m' }, false);
    return this.accounted(symbol, async () => {
      const providerSymbol = this.providerSymbol(symbol);
      const res = await this.send(
        `${this.base}/v7/finance/quote`,
        { symbols: providerSymbol },
        symbol,
        signal,
      );
      if (res.status !== 200) throw this.http.statusError(res, { symbol });
      const q = parseQuote(res.body, providerSymbol, symbol);
      if (!q)
        throw new FetchError({
          kind: 'symbol_not_found',
          source: 'yahoo',
          symbol,
          message: `Yahoo has no quote for ${providerSymbol}`,
        });
      return q;
    });
  }

  private assertTimeframe(tf: Timeframe, symbol: string): void {
    if (!this.capabilities.timeframes.includes(tf)) throw this.unsupported(tf, symbol);
  }

  private async send(
    url: string,
    searchParams: Record<string, string | number | boolean>,
    symbol: string,
    signal: AbortSignal | undefined,
  ): Promise<HttpResponse<unknown>> {
    await this.spend(symbol, signal);
    try {
      return await this.http.getJson(url, { searchParams, signal });
    } catch (err) {
      if (isFetchError(err)) this.honourRateLimit(err);
      throw err;
    }
  }

  private async chart(
    symbol: string,
    timeframe: Timeframe,
    window: { range: string } | { period1: number; period2: number },
    clip: { from?: number; to?: number },
    signal: AbortSignal | undefined,
  ): Promise<Bar[]> {
    const providerSymbol = this.providerSymbol(symbol);
    const interval = YAHOO_INTERVALS[timeframe];
    if (interval === undefined) {
      throw new FetchError({
        kind: 'not_supported',
        source: 'yahoo',
        symbol,
        message: `timeframe ${timeframe} is not served`,
      });
    }
    const res = await this.send(
      `${this.base}/v8/finance/chart/${encodeURIComponent(providerSymbol)}`,
      { interval, includePrePost: this.opts.includePrePost, ...window },
      symbol,
      signal,
    );
    const cErr = chartError(res.body);
    if (cErr) {
      const kind =
        cErr.code === 'Not Found'
          ? 'symbol_not_found'
          : res.status === 429
            ? 'rate_limited'
            : res.status >= 500
              ? 'transient'
              : 'bad_request';
      const err = new FetchError({
        kind,
        source: 'yahoo',
        symbol,
        status: res.status,
        message: `chart error ${cErr.code}: ${cErr.description}`,
      });
      this.honourRateLimit(err);
      throw err;
    }
    if (res.status !== 200) throw this.http.statusError(res, { symbol, notFoundKind: 'symbol_not_found' });
    return parseChartBars(res.body, {
      symbol,
      timeframe,
      includePrePost: this.opts.includePrePost,
      rawPrices: this.opts.rawPrices,
      stats: this.counters,
      ...clip,
    });
  }
}

/** Creates a Yahoo Finance fetcher (v8 chart for bars, v7 quote for `fetchQuote`). No API key. */
export function createYahooFetcher(options?: Partial<YahooFetcherOptions>): YahooFetcher {
  const opts = resolveOptions('createYahooFetcher', YAHOO_FETCHER_DEFAULTS, options);
  validate(opts);
  return new YahooFetcherImpl(opts);
}
