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
  type SourceCapabilities,
  type Timeframe,
} from '@pipeline/core';
import { type SymbolMapper } from '@pipeline/symbol-mapper';
import { type BatchFetcher, type FetchLatestManyRequest, type FetchLatestManyResult } from '../base/batch';
import { type FetcherStats } from '../base/stats';
import { checkRequest, throwIfAborted } from '../base/fetcher-kit';
import { HTTP_TRANSPORT_DEFAULTS, HttpFetcherBase, type HttpTransportOptions } from '../base/http-fetcher';
import { assertApiKeyOption, assertBaseUrlOption } from '../base/options';
import { resolveAlignedNames } from '../base/options';
import { type RateLimits } from '../rate/rate-budget';
import {
  TWELVEDATA_INTERVALS,
  TWELVEDATA_MAX_OUTPUTSIZE,
  decodeTwelveDataBody,
  parseTwelveDataPrice,
  parseTwelveDataQuote,
  parseTwelveDataSeries,
  twelveDataBodyError,
  type TwelveDataQuote,
} from './parse';

export interface TwelveDataFetcherOptions extends HttpTransportOptions {
  /** Twelve Data API key, sent as the `apikey` query parameter (masked in every error). Required. */
  apiKey: string;
  /** API root; tests pass a local fixture server. @default 'https://api.twelvedata.com' */
  baseUrl: string;
  /** @deprecated use `rateLimits.perMinute`. Requests (credits) per rolling minute; null: no local limit. @default 8 (free plan) */
  perMinute: number | null | undefined;
  /**
   * Request budget overrides (`perSecond`, `perMinute`, `perDay`; null: no local limit), the name every
   * provider takes. @default the free plan's (`DEFAULT_RATE_LIMITS`)
   */
  rateLimits: Partial<RateLimits> | undefined;
  /** @deprecated use `rateLimits.perDay`. Requests (credits) per UTC day; null: no local limit. @default 800 (free plan) */
  perDay: number | null | undefined;
  /** Time source: forming-bar detection, rate windows, retry-after. @default systemClock */
  clock: Clock;
  /** Generic <-> Twelve Data symbols. @default createSymbolMapper() */
  symbolMapper: SymbolMapper | undefined;
  /** @deprecated use `latestLimit`. Bars `fetchLatest` asks for when the request has no `limit`. @default 10 */
  defaultLatestLimit: number;
  /** Bars `fetchLatest` returns when the request has no `limit`, the name every provider takes. Unit: bars. @default 10 */
  latestLimit: number | undefined;
  /** Rows per history page (`outputsize`, at most 5000). Unit: rows. @default 5000 */
  pageSize: number;
  /** Safety stop for one `fetchHistory` call. Unit: requests. @default 200 */
  maxPagesPerHistory: number;
}

export const TWELVEDATA_FETCHER_DEFAULTS: Readonly<TwelveDataFetcherOptions> = Object.freeze({
  apiKey: '',
  baseUrl: 'https://api.twelvedata.com',
  ...HTTP_TRANSPORT_DEFAULTS,
  perMinute: undefined,
  perDay: undefined,
  rateLimits: undefined,
  clock: systemClock,
  symbolMapper: undefined,
  defaultLatestLimit: 10,
  latestLimit: undefined,
  pageSize: TWELVEDATA_MAX_OUTPUTSIZE,
  maxPagesPerHistory: 200,
});

const DAY_MS = 86_400_000;

/** `YYYY-MM-DD HH:MM:SS` of an epoch-ms instant in UTC. */
function utcText(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}

function resolveTwelveDataOptions(
  options: Partial<TwelveDataFetcherOptions> & { apiKey: string },
): Readonly<TwelveDataFetcherOptions> {
  const C = 'TwelveDataFetcher';
  const raw = resolveOptions(C, TWELVEDATA_FETCHER_DEFAULTS, options);
  const aligned = resolveAlignedNames(C, options, 10);
  const o = Object.freeze({
    ...raw,
    latestLimit: aligned.latestLimit,
    defaultLatestLimit: aligned.latestLimit,
    rateLimits: aligned.rateLimits,
  });
  assertApiKeyOption(C, o.apiKey);
  assertBaseUrlOption(C, o.baseUrl);
  assertNumberOption(
    C,
    // Name the option the caller wrote (the deprecated alias too).
    options.latestLimit === undefined && options.defaultLatestLimit !== undefined
      ? 'defaultLatestLimit'
      : 'latestLimit',
    o.latestLimit,
    1,
    TWELVEDATA_MAX_OUTPUTSIZE,
  );
  assertNumberOption(C, 'pageSize', o.pageSize, 1, TWELVEDATA_MAX_OUTPUTSIZE);
  assertNumberOption(C, 'maxPagesPerHistory', o.maxPagesPerHistory, 1);
  return o;
}

/**
 * Twelve Data REST (`/time_series`, `/quote`, `/price`) behind core's Fetcher.
 *
 * History pages by cursor rather than by fixed windows: Twelve Data answers the NEWEST `outputsize`
 * rows of [start_date, end_date] in the exchange's zone, so each next page ends at the oldest
 * datetime already received (sent back verbatim, no zone arithmetic) until a short page or `from`
 * is reached. The first page's bounds are widened by a day on each side because the exchange's zone
 * is only known from the answer; bars are clipped to [from, to) afterwards.
 */
/** Symbols in one batch request (Twelve Data documents up to 120 symbols per batch). */
export const TWELVEDATA_MAX_BATCH_SYMBOLS = 120;

/** A Twelve Data fetcher: core's Fetcher plus the batch call, `/quote`, `/price` and counters. */
export interface TwelveDataFetcher extends BatchFetcher {
  readonly source: 'twelvedata';
  /** The resolved options (defaults filled in, frozen). */
  readonly options: Readonly<TwelveDataFetcherOptions>;
  /** The older spelling of {@link TwelveDataFetcher.fetchLatestMany}. */
  fetchLatestBatch(
    symbols: readonly string[],
    timeframe: Timeframe,
    options?: { limit?: number; signal?: AbortSignal },
  ): Promise<Map<string, Bar[] | FetchError>>;
  /** The /quote of a symbol (last daily bar, previous close). */
  quote(symbol: string, options?: { signal?: AbortSignal }): Promise<TwelveDataQuote>;
  /** The latest /price of a symbol. */
  price(symbol: string, options?: { signal?: AbortSignal }): Promise<number>;
  stats(): FetcherStats;
}

// One provider idiom (issue 12): a factory returning an interface; the class stays internal.
class TwelveDataFetcherImpl extends HttpFetcherBase<'twelvedata'> implements TwelveDataFetcher {
  readonly capabilities: SourceCapabilities;
  readonly options: Readonly<TwelveDataFetcherOptions>;

  constructor(options: Partial<TwelveDataFetcherOptions> & { apiKey: string }) {
    const o = resolveTwelveDataOptions(options);
    super({
      source: 'twelvedata',
      http: o.http,
      poolSize: o.poolSize,
      timeoutMs: o.timeoutMs,
      clock: o.clock,
      secrets: [o.apiKey],
      rateLimits: o.rateLimits,
      symbolMapper: o.symbolMapper,
      // The provider's own count wins: stop sending until its window (or its day) frees.
      ratePolicy: { dailyPattern: /daily|for the day|per day/i, pauseMs: undefined },
    });
    this.options = o;
    this.capabilities = Object.freeze({
      ...this.keyedCapabilities(
        Object.keys(TWELVEDATA_INTERVALS) as Timeframe[],
        (tf) => TIMEFRAME_MS[tf] * o.pageSize,
        TWELVEDATA_MAX_OUTPUTSIZE,
        false,
      ),
      // time_series?symbol=A,B,C: one request, one credit per symbol (Twelve Data's batch requests).
      batchLatest: Object.freeze({
        timeframes: Object.freeze(Object.keys(TWELVEDATA_INTERVALS) as Timeframe[]),
        maxSymbols: TWELVEDATA_MAX_BATCH_SYMBOLS,
        maxLimit: TWELVEDATA_MAX_OUTPUTSIZE,
        costPerSymbol: 1,
      }),
    });
  }

  async fetchLatest(request: FetchLatestRequest): Promise<Bar[]> {
    const { symbol } = request;
    return this.accounted(symbol, async () => {
      checkRequest('twelvedata', request, false);
      const interval = this.interval(request.timeframe, symbol);
      const limit = request.limit ?? this.options.defaultLatestLimit;
      const provider = this.providerSymbol(symbol);
      const obj = await this.get(
        '/time_series',
        { symbol: provider, interval, outputsize: Math.min(limit, TWELVEDATA_MAX_OUTPUTSIZE) },
        symbol,
        request.signal,
      );
      const { bars } = parseTwelveDataSeries(obj, { symbol, timeframe: request.timeframe }, this.counters);
      return this.deliverLatest(bars, limit);
    });
  }

  async fetchHistory(request: FetchHistoryRequest): Promise<Bar[]> {
    const { symbol } = request;
    return this.accounted(symbol, async () => {
      checkRequest('twelvedata', request, true);
      const { timeframe, from, to } = request;
      const interval = this.interval(timeframe, symbol);
      if (!(to > from)) return [];
      const provider = this.providerSymbol(symbol);
      const pageSize = this.options.pageSize;
      const planned = Math.max(1, Math.ceil((to - from) / TIMEFRAME_MS[timeframe] / pageSize));
      const startText = utcText(from - DAY_MS);
      let endText = utcText(to + DAY_MS);
      const all: Bar[] = [];
      let oldestSeen = Infinity;
      for (let page = 1; ; page++) {
        throwIfAborted('twelvedata', request.signal, symbol);
        let obj: Record<string, unknown>;
        try {
          obj = await this.get(
            '/time_series',
            { symbol: provider, interval, outputsize: pageSize, start_date: startText, end_date: endText },
            symbol,
            request.signal,
          );
        } catch (err) {
          // A range without bars (a weekend, a holiday, before listing) is answered as error 400
          // "No data is available on the specified dates": for history that is an empty page.
          if (isFetchError(err) && err.kind === 'bad_request' && /no data is available/i.test(err.message))
            break;
          throw err;
        }
        const parsed = parseTwelveDataSeries(obj, { symbol, timeframe }, this.counters);
        all.push(...parsed.bars);
        request.onProgress?.({
          requestsDone: page,
          requestsPlanned: Math.max(planned, page),
          bars: all.length,
        });
        const oldest = parsed.bars[0]?.ts ?? Infinity;
        const full = parsed.rowCount >= pageSize;
        // Stop on a short page, once `from` is covered, or when a page brought nothing older.
        if (!full || oldest <= from || parsed.oldestDatetime === null || !(oldest < oldestSeen)) break;
        if (page >= this.options.maxPagesPerHistory) {
          throw new FetchError({
            kind: 'bad_request',
            source: 'twelvedata',
            symbol,
            message: `history needs more than maxPagesPerHistory (${this.options.maxPagesPerHistory}) pages`,
          });
        }
        oldestSeen = oldest;
        endText = parsed.oldestDatetime;
      }
      return this.deliverHistory(all, from, to, true);
    });
  }

  /**
   * The latest bars of several symbols in ONE request (the {@link BatchFetcher} method): the same as
   * {@link TwelveDataFetcher.fetchLatestBatch} with the request object every batch fetcher takes.
   */
  fetchLatestMany(request: FetchLatestManyRequest): Promise<FetchLatestManyResult> {
    if (request.symbols.length > TWELVEDATA_MAX_BATCH_SYMBOLS) {
      return Promise.reject(
        new FetchError({
          kind: 'bad_request',
          source: 'twelvedata',
          message: `a batch takes at most ${TWELVEDATA_MAX_BATCH_SYMBOLS} symbols, got ${request.symbols.length}`,
        }),
      );
    }
    return this.fetchLatestBatch(request.symbols, request.timeframe, {
      ...(request.limit !== undefined ? { limit: request.limit } : {}),
      ...(request.signal !== undefined ? { signal: request.signal } : {}),
    });
  }

  /**
   * The latest bars of several symbols in ONE request (Twelve Data's batch: comma-separated symbols).
   * Costs one credit per symbol, taken from the local budget up front. Per-symbol failures (an unknown
   * symbol inside the batch) come back as FetchErrors in the map instead of failing the whole batch.
   */
  async fetchLatestBatch(
    symbols: readonly string[],
    timeframe: Timeframe,
    options: { limit?: number; signal?: AbortSignal } = {},
  ): Promise<Map<string, Bar[] | FetchError>> {
    const out = new Map<string, Bar[] | FetchError>();
    const providers = new Map<string, string>();
    for (const s of symbols) {
      try {
        providers.set(this.providerSymbol(s), s);
      } catch (err) {
        out.set(
          s,
          isFetchError(err)
            ? err
            : new FetchError({
                kind: 'symbol_not_found',
                source: 'twelvedata',
                symbol: s,
                message: String(err),
                cause: err,
              }),
        );
      }
    }
    if (providers.size === 0) return out;
    return this.accounted(undefined, async () => {
      const interval = this.interval(timeframe);
      const limit = options.limit ?? this.options.defaultLatestLimit;
      const snap = this.rate.snapshot();
      const need = providers.size;
      if (
        (snap.perMinuteLeft !== null && snap.perMinuteLeft < need) ||
        (snap.perDayLeft !== null && snap.perDayLeft < need)
      ) {
        const wait = Math.max(this.rate.waitMs(), 1);
        throw new FetchError({
          kind: 'rate_limited',
          source: 'twelvedata',
          retryAfterMs: wait,
          message: `local rate budget: a batch of ${need} symbols needs ${need} credits`,
        });
      }
      for (let i = 1; i < need; i++) this.rate.take(); // the last one is taken by get()
      const obj = await this.get(
        '/time_series',
        { symbol: [...providers.keys()].join(','), interval, outputsize: limit },
        undefined,
        options.signal,
      );
      // A batch of one answers in the single-symbol shape, not keyed by symbol.
      const entries: Array<[string, string, unknown]> = [...providers].map(([p, symbol]) => [
        p,
        symbol,
        need === 1 ? obj : obj[p],
      ]);
      for (const [provider, symbol, entry] of entries) {
        try {
          if (typeof entry !== 'object' || entry === null) {
            throw new FetchError({
              kind: 'malformed',
              source: 'twelvedata',
              symbol,
              message: `batch answer has no entry for ${provider}`,
            });
          }
          const e = entry as Record<string, unknown>;
          if (e.status === 'error') throw twelveDataBodyError(e, 200, { symbol, now: this.clock.now() });
          const { bars } = parseTwelveDataSeries(e, { symbol, timeframe }, this.counters);
          out.set(symbol, this.deliverLatest(bars, limit));
        } catch (err) {
          this.counters.failures++;
          out.set(
            symbol,
            isFetchError(err)
              ? err
              : new FetchError({
                  kind: 'malformed',
                  source: 'twelvedata',
                  symbol,
                  message: String(err),
                  cause: err,
                }),
          );
        }
      }
      return out;
    });
  }

  /** The /quote of a symbol (last daily bar, previous close). */
  async quote(symbol: string, options: { signal?: AbortSignal } = {}): Promise<TwelveDataQuote> {
    return this.accounted(symbol, async () => {
      const provider = this.providerSymbol(symbol);
      const obj = await this.get('/quote', { symbol: provider }, symbol, options.signal);
      return parseTwelveDataQuote(obj, symbol);
    });
  }

  /** The /price of a symbol (real-time or latest price, one credit). */
  async price(symbol: string, options: { signal?: AbortSignal } = {}): Promise<number> {
    return this.accounted(symbol, async () => {
      const provider = this.providerSymbol(symbol);
      const obj = await this.get('/price', { symbol: provider }, symbol, options.signal);
      return parseTwelveDataPrice(obj, symbol);
    });
  }

  private interval(timeframe: Timeframe, symbol?: string): string {
    const interval = (TWELVEDATA_INTERVALS as Partial<Record<Timeframe, string>>)[timeframe];
    if (interval === undefined) throw this.unsupported(timeframe, symbol);
    return interval;
  }

  /** One budgeted GET; decodes the body or throws the matching FetchError (and honours 429s). */
  private async get(
    path: string,
    params: Record<string, string | number>,
    symbol: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<Record<string, unknown>> {
    return this.getKeyed(
      `${this.options.baseUrl.replace(/\/$/, '')}${path}`,
      params,
      { param: 'apikey', value: this.options.apiKey },
      symbol,
      signal,
      (res, now) =>
        decodeTwelveDataBody(res.status, res.body, { ...(symbol !== undefined ? { symbol } : {}), now }),
    );
  }
}

/** Creates a {@link TwelveDataFetcher}. */
export function createTwelveDataFetcher(
  options: Partial<TwelveDataFetcherOptions> & { apiKey: string },
): TwelveDataFetcher {
  return new TwelveDataFetcherImpl(options);
}
