import {
  FetchError,
  OptionsError,
  TIMEFRAME_MS,
  assertNumberOption,
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
import { checkRequest, runPlanned } from '../base/fetcher-kit';
import { HTTP_TRANSPORT_DEFAULTS, HttpFetcherBase, type HttpTransportOptions } from '../base/http-fetcher';
import {
  assertApiKeyOption,
  assertBaseUrlOption,
  assertBooleanOption,
  assertHttpSourceOption,
} from '../base/options';
import { type FetcherStats } from '../base/stats';
import { avHistoryMonths } from './months';
import { type RateLimits } from '../rate/rate-budget';
import {
  AV_INTERVALS,
  AV_INTRADAY_STAMPS,
  classifyAvBody,
  parseAvQuote,
  parseAvSeries,
  type AlphaVantageQuote,
  type AvIntradayStamp,
} from './parse';

const DAY = TIMEFRAME_MS['1d'];

export interface AlphaVantageFetcherOptions extends HttpTransportOptions {
  /** Your Alpha Vantage key (required). Sent as `apikey`, masked in every message. */
  apiKey: string;
  /** Origin of `/query` (a mirror or a test server). @default 'https://www.alphavantage.co' */
  baseUrl: string;
  /** Overrides of the free-tier budget. @default { perSecond: 1, perMinute: 5, perDay: 25 } */
  rateLimits: Partial<RateLimits> | undefined;
  /** Time source for forming bars, budgets and quota resets. @default systemClock */
  clock: Clock;
  /** Generic <-> AV symbols (`EUR/USD` for pairs, tickers for stocks). @default createSymbolMapper() */
  symbolMapper: SymbolMapper | undefined;
  /**
   * What an intraday timestamp names: the bar's `start` (today's API: an extended-hours 5-minute
   * series runs 04:00..19:55 ET) or its `end` (archived 2017-2020 answers, whose 1-minute series ran
   * 09:31..16:00). See the README's table. @default 'start'
   */
  intradayStamp: AvIntradayStamp;
  /** Ask for pre/post-market bars of stocks (`extended_hours`). @default false */
  extendedHours: boolean;
  /** Bars `fetchLatest` returns when the request gives no `limit` (AV compact = 100). @default 100 */
  latestLimit: number;
}

export const ALPHAVANTAGE_FETCHER_DEFAULTS: Readonly<AlphaVantageFetcherOptions> = Object.freeze({
  apiKey: '',
  baseUrl: 'https://www.alphavantage.co',
  ...HTTP_TRANSPORT_DEFAULTS,
  rateLimits: undefined,
  clock: systemClock,
  symbolMapper: undefined,
  intradayStamp: 'start',
  extendedHours: false,
  latestLimit: 100,
});

/** Intraday history comes one calendar month per request (`month=YYYY-MM`, stocks only). */
export const ALPHAVANTAGE_CAPABILITIES: SourceCapabilities = Object.freeze({
  source: 'alphavantage',
  timeframes: Object.freeze(['1m', '5m', '15m', '30m', '1h', '4h', '1d'] as const),
  historyDepthMs: Object.freeze({}),
  maxRangeMsPerRequest: Object.freeze({
    '1m': 31 * DAY,
    '5m': 31 * DAY,
    '15m': 31 * DAY,
    '30m': 31 * DAY,
    '1h': 31 * DAY,
    '4h': 31 * DAY,
  }),
  maxBarsPerRequest: undefined,
  needsApiKey: true,
  rateLimits: Object.freeze({ perSecond: 1, perMinute: 5, perDay: 25 }),
  streaming: false,
});

export interface AlphaVantageFetcher extends Fetcher {
  readonly source: 'alphavantage';
  /** GLOBAL_QUOTE for stocks, CURRENCY_EXCHANGE_RATE for pairs (fx, metals, crypto). */
  fetchQuote(symbol: string, signal?: AbortSignal): Promise<AlphaVantageQuote>;
  stats(): FetcherStats;
}

type Kind = 'pair' | 'stock' | 'crypto';

class AlphaVantageFetcherImpl extends HttpFetcherBase<'alphavantage'> implements AlphaVantageFetcher {
  readonly capabilities = ALPHAVANTAGE_CAPABILITIES;
  private readonly url: string;

  constructor(private readonly opts: Readonly<AlphaVantageFetcherOptions>) {
    super({
      source: 'alphavantage',
      http: opts.http,
      poolSize: opts.poolSize,
      timeoutMs: opts.timeoutMs,
      clock: opts.clock,
      secrets: [opts.apiKey],
      rateLimits: opts.rateLimits,
      symbolMapper: opts.symbolMapper,
      // AV counts the refused call too: stop sending until it has forgiven us (a second after the
      // burst notice, a minute, or the rest of the UTC day after the daily-quota notice).
      ratePolicy: { dailyPattern: /daily request quota spent/, pauseMs: 60_000 },
    });
    this.url = `${opts.baseUrl.replace(/\/+$/, '')}/query`;
  }

  async fetchLatest(req: FetchLatestRequest): Promise<Bar[]> {
    checkRequest('alphavantage', req, false);
    return this.accounted(req.symbol, async () => {
      const limit = req.limit ?? this.opts.latestLimit;
      const native = this.native(req.timeframe, req.symbol);
      // compact = the latest 100 points; more (or 4h from 1h) needs the full series.
      const need = req.timeframe === '4h' ? limit * 4 + 4 : limit;
      let bars = await this.series(
        req.symbol,
        native,
        { outputsize: need <= 100 ? 'compact' : 'full' },
        req.signal,
      );
      if (req.timeframe === '4h') bars = resampleBars(bars, '4h');
      return this.deliverLatest(bars, limit);
    });
  }

  async fetchHistory(req: FetchHistoryRequest): Promise<Bar[]> {
    checkRequest('alphavantage', req, true);
    return this.accounted(req.symbol, async () => {
      const native = this.native(req.timeframe, req.symbol);
      const kind = this.kindOf(req.symbol);
      const windows: Record<string, string>[] = [];
      if (native !== '1d' && kind === 'stock') {
        // One request per US/Eastern calendar month that can hold a bar of [from, to).
        for (const month of avHistoryMonths(
          req.from,
          req.to,
          TIMEFRAME_MS[native],
          this.opts.extendedHours,
        )) {
          windows.push({ outputsize: 'full', month });
        }
      } else {
        windows.push({ outputsize: 'full' });
      }
      const bars = await runPlanned('alphavantage', req, windows, (w) =>
        this.series(req.symbol, native, w, req.signal),
      );
      const fine = req.timeframe === '4h' ? resampleBars(bars, '4h') : bars;
      return this.deliverHistory(fine, req.from, req.to, false);
    });
  }

  async fetchQuote(symbol: string, signal?: AbortSignal): Promise<AlphaVantageQuote> {
    checkRequest('alphavantage', { symbol, timeframe: '1m' }, false);
    return this.accounted(symbol, async () => {
      const provider = this.providerSymbol(symbol);
      const [from = '', to = ''] = provider.split('/');
      const params: Record<string, string> = provider.includes('/')
        ? { function: 'CURRENCY_EXCHANGE_RATE', from_currency: from, to_currency: to }
        : { function: 'GLOBAL_QUOTE', symbol: provider };
      return parseAvQuote(await this.query(params, symbol, signal), symbol);
    });
  }

  private native(tf: Timeframe, symbol: string): Timeframe {
    if (!this.capabilities.timeframes.includes(tf)) throw this.unsupported(tf, symbol);
    return tf === '4h' ? '1h' : tf;
  }

  private kindOf(symbol: string): Kind {
    const provider = this.providerSymbol(symbol);
    let assetClass: string | undefined;
    try {
      assetClass = this.mapper.instrument(symbol).assetClass;
    } catch {
      assetClass = undefined;
    }
    if (assetClass === 'crypto') return 'crypto';
    return provider.includes('/') ? 'pair' : 'stock';
  }

  private async series(
    symbol: string,
    timeframe: Timeframe,
    extra: Record<string, string>,
    signal?: AbortSignal,
  ): Promise<Bar[]> {
    const kind = this.kindOf(symbol);
    if (kind === 'crypto') {
      // DIGITAL_CURRENCY_* series are daily-only or premium: crypto bars come from other sources.
      throw new FetchError({
        kind: 'not_supported',
        source: 'alphavantage',
        symbol,
        message: 'crypto bars are not served by this fetcher (quotes are)',
      });
    }
    const provider = this.providerSymbol(symbol);
    const intraday = timeframe !== '1d';
    const [from = '', to = ''] = provider.split('/');
    const params: Record<string, string> =
      kind === 'pair'
        ? { function: intraday ? 'FX_INTRADAY' : 'FX_DAILY', from_symbol: from, to_symbol: to }
        : { function: intraday ? 'TIME_SERIES_INTRADAY' : 'TIME_SERIES_DAILY', symbol: provider };
    const interval = AV_INTERVALS[timeframe];
    if (intraday && interval === undefined) {
      throw new FetchError({
        kind: 'not_supported',
        source: 'alphavantage',
        symbol,
        message: `timeframe ${timeframe} is not served`,
      });
    }
    if (interval !== undefined && intraday) params.interval = interval;
    if (intraday && kind === 'stock') params.extended_hours = String(this.opts.extendedHours);
    const body = await this.query({ ...params, ...extra }, symbol, signal);
    return parseAvSeries(body, { symbol, timeframe, stamp: this.opts.intradayStamp, stats: this.counters });
  }

  /** One `/query` call: budget, request, and AV's HTTP-200 error bodies turned into FetchErrors. */
  private async query(
    params: Record<string, string>,
    symbol: string,
    signal?: AbortSignal,
  ): Promise<unknown> {
    await this.spend(symbol, signal);
    const res = await this.http.getJson(this.url, {
      searchParams: { ...params, apikey: this.opts.apiKey },
      signal,
    });
    if (res.status !== 200) throw this.http.statusError(res, { symbol });
    const err = classifyAvBody(res.body, symbol, this.opts.clock.now());
    if (err) {
      this.honourRateLimit(err);
      // AV's daily notice quotes the key back ("We have detected your API key as ..."): scrub it.
      throw this.scrubbed(err, [this.opts.apiKey]);
    }
    return res.body;
  }
}

/** Creates an Alpha Vantage fetcher (TIME_SERIES_* for stocks, FX_* for pairs). Needs an API key. */
export function createAlphaVantageFetcher(
  options: Partial<AlphaVantageFetcherOptions> & Pick<AlphaVantageFetcherOptions, 'apiKey'>,
): AlphaVantageFetcher {
  const C = 'createAlphaVantageFetcher';
  const opts = resolveOptions(C, ALPHAVANTAGE_FETCHER_DEFAULTS, options);
  assertApiKeyOption(C, opts.apiKey, 'get a free key at alphavantage.co');
  assertBaseUrlOption(C, opts.baseUrl);
  if (!Object.prototype.hasOwnProperty.call(AV_INTRADAY_STAMPS, opts.intradayStamp)) {
    throw new OptionsError(
      `${C}: option "intradayStamp" must be one of end, start, got ${JSON.stringify(opts.intradayStamp)}`,
    );
  }
  assertHttpSourceOption(C, opts.http, 'alphavantage');
  assertBooleanOption(C, 'extendedHours', opts.extendedHours);
  assertNumberOption(C, 'poolSize', opts.poolSize, 1, 1024);
  assertNumberOption(C, 'timeoutMs', opts.timeoutMs, 1, 600_000);
  assertNumberOption(C, 'latestLimit', opts.latestLimit, 1, 100_000);
  return new AlphaVantageFetcherImpl(opts);
}
