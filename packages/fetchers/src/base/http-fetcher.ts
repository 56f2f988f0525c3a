import {
  FetchError,
  isFetchError,
  type Bar,
  type Clock,
  type FetchHistoryRequest,
  type FetchLatestRequest,
  type Fetcher,
  type RateBudgetSnapshot,
  type SourceCapabilities,
  type SourceName,
  type Timeframe,
} from '@pipeline/core';
import { createSymbolMapper, type SymbolMapper } from '@pipeline/symbol-mapper';
import { HTTP_POOL_SIZE, createHttpClient, type HttpClient, type HttpResponse } from '../http/client';
import { redactSecrets } from '@pipeline/core';
import { createRateBudget, type RateBudget, type RateLimits } from '../rate/rate-budget';
import { clipBars, finishBars, lastBars } from './bars';
import { countFailure, unsupportedTimeframe } from './fetcher-kit';
import { createFetcherStats, type FetcherStats } from './stats';
import { toProviderSymbol } from './symbols';

/**
 * How a provider's own `rate_limited` answer feeds back into the local budget (the provider's count
 * wins over ours: once it refused, sending again before its window frees only burns calls).
 */
export interface ProviderRatePolicy {
  /** A refusal whose message matches spends the whole UTC day; null: the provider has no daily quota message. */
  readonly dailyPattern: RegExp | null;
  /** Pause when the refusal carries no `Retry-After`, in ms; undefined: no pause without one. */
  readonly pauseMs: number | undefined;
}

/** What {@link HttpFetcherBase} needs from a provider's resolved options. */
export interface HttpFetcherSetup<S extends SourceName> {
  readonly source: S;
  /** A shared client (not closed here) or undefined to create and own one. */
  readonly http: HttpClient | undefined;
  readonly poolSize: number;
  readonly timeoutMs: number;
  readonly clock: Clock;
  /** Values masked in every message of the client created here (API keys); omitted: none. */
  readonly secrets?: readonly string[];
  /** Overrides of the source's default budget (`DEFAULT_RATE_LIMITS`). */
  readonly rateLimits: Partial<RateLimits> | undefined;
  readonly symbolMapper: SymbolMapper | undefined;
  readonly ratePolicy: ProviderRatePolicy;
}

/**
 * The lifecycle and accounting every HTTP provider fetcher shares: the owned-or-borrowed client, the
 * local rate budget, the symbol mapper, the counters behind `stats()`, and the rule that every public
 * call either returns bars (counted) or fails with a FetchError (counted). Subclasses keep only what
 * is provider-specific: URLs, parsing, error-body classification and paging rules.
 */
export abstract class HttpFetcherBase<S extends SourceName> implements Fetcher {
  readonly source: S;
  abstract readonly capabilities: SourceCapabilities;
  protected readonly http: HttpClient;
  protected readonly rate: RateBudget;
  protected readonly mapper: SymbolMapper;
  protected readonly clock: Clock;
  protected readonly counters: FetcherStats = createFetcherStats();
  private readonly ownsHttp: boolean;
  private readonly ratePolicy: ProviderRatePolicy;

  protected constructor(setup: HttpFetcherSetup<S>) {
    this.source = setup.source;
    this.clock = setup.clock;
    this.ratePolicy = setup.ratePolicy;
    this.ownsHttp = setup.http === undefined;
    this.http =
      setup.http ??
      createHttpClient({
        source: setup.source,
        poolSize: setup.poolSize,
        timeoutMs: setup.timeoutMs,
        clock: setup.clock,
        ...(setup.secrets !== undefined ? { secrets: setup.secrets } : {}),
      });
    this.rate = createRateBudget({ source: setup.source, clock: setup.clock, ...setup.rateLimits });
    this.mapper = setup.symbolMapper ?? createSymbolMapper();
  }

  abstract fetchLatest(request: FetchLatestRequest): Promise<Bar[]>;
  abstract fetchHistory(request: FetchHistoryRequest): Promise<Bar[]>;

  budget(): RateBudgetSnapshot {
    return this.rate.snapshot();
  }

  /** A copy of the counters (requests, failures, bars, skipped rows, ...). */
  stats(): FetcherStats {
    return { ...this.counters };
  }

  /** Closes the HTTP client when this fetcher created it; a shared one stays open for its owner. */
  async close(): Promise<void> {
    if (this.ownsHttp) await this.http.close();
  }

  /**
   * Runs one public call: its failure is counted in `failures` (and `rateLimitedLocally`) and
   * rethrown as a FetchError, anything else becoming `malformed`.
   */
  protected async accounted<T>(symbol: string | undefined, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      return countFailure(this.source, this.counters, err, symbol);
    }
  }

  /**
   * Takes one request from the local budget and counts it: waits while only the per-second window is
   * spent (requests spaced by the provider's per-second limit, e.g. Alpha Vantage's 1/s, so history
   * paging never bursts), throws `rate_limited` without sending when another window is spent.
   */
  protected async spend(symbol: string | undefined, signal?: AbortSignal): Promise<void> {
    await this.rate.acquire(symbol, signal);
    this.counters.requests++;
  }

  /** Feeds a provider's `rate_limited` answer back into the local budget per the provider's policy. */
  protected honourRateLimit(err: FetchError): void {
    if (err.kind !== 'rate_limited') return;
    const { dailyPattern, pauseMs } = this.ratePolicy;
    if (dailyPattern !== null && dailyPattern.test(err.message)) {
      this.rate.exhaustDay();
      return;
    }
    const ms = err.retryAfterMs ?? pauseMs;
    if (ms !== undefined) this.rate.block(ms);
  }

  /** The provider's symbol for a generic one (`symbol_not_found` when it has none). */
  protected providerSymbol(symbol: string): string {
    return toProviderSymbol(this.mapper, symbol, this.source);
  }

  /** A `not_supported` FetchError for a timeframe this source cannot serve. */
  protected unsupported(timeframe: string, symbol?: string): FetchError {
    return unsupportedTimeframe(this.source, timeframe, symbol);
  }

  /** The newest `limit` bars of an answer, finished (sorted, deduplicated, forming flag) and counted. */
  protected deliverLatest(bars: readonly Bar[], limit: number | undefined): Bar[] {
    const out = lastBars(finishBars(bars, this.clock), limit);
    this.counters.bars += out.length;
    return out;
  }

  /**
   * The bars of a history run inside [from, to), finished and counted. `countDropped`: also count
   * what the clip removed in `outOfRangePointsDropped`, for sources whose parser does not clip (and
   * count) on its own.
   */
  protected deliverHistory(bars: readonly Bar[], from: number, to: number, countDropped: boolean): Bar[] {
    const finished = finishBars(bars, this.clock);
    const clipped = clipBars(finished, from, to);
    if (countDropped) this.counters.outOfRangePointsDropped += finished.length - clipped.length;
    this.counters.bars += clipped.length;
    return clipped;
  }

  /**
   * Capabilities of a keyed source whose limits depend on its options (page size, plan): request
   * windows per timeframe from `maxRangeMs`, and the rate limits this fetcher's budget actually applies.
   */
  protected keyedCapabilities(
    timeframes: readonly Timeframe[],
    maxRangeMs: (timeframe: Timeframe) => number,
    maxBarsPerRequest: number,
    streaming: boolean,
  ): SourceCapabilities {
    const maxRange: Partial<Record<Timeframe, number>> = {};
    for (const tf of timeframes) maxRange[tf] = maxRangeMs(tf);
    return Object.freeze({
      source: this.source,
      timeframes: Object.freeze([...timeframes]),
      historyDepthMs: {},
      maxRangeMsPerRequest: maxRange,
      maxBarsPerRequest,
      needsApiKey: true,
      rateLimits: {
        perSecond: this.rate.limits.perSecond,
        perMinute: this.rate.limits.perMinute,
        perDay: this.rate.limits.perDay,
      },
      streaming,
    });
  }

  /**
   * One budgeted GET of a keyed source: the key goes in the query as `key.param` (masked in every
   * message by the client), `decode` turns status and text into data or throws the matching
   * FetchError, whose rate limit then feeds the budget and whose provider text is scrubbed of the key.
   */
  protected async getKeyed<T>(
    url: string,
    params: Readonly<Record<string, string | number | boolean>>,
    key: { readonly param: string; readonly value: string },
    symbol: string | undefined,
    signal: AbortSignal | undefined,
    decode: (res: HttpResponse<string>, now: number) => T,
  ): Promise<T> {
    await this.spend(symbol, signal);
    const res = await this.http.getText(url, {
      searchParams: { ...params, [key.param]: key.value },
      ...(signal !== undefined ? { signal } : {}),
    });
    const now = this.clock.now();
    try {
      return decode(res, now);
    } catch (err) {
      if (!isFetchError(err)) throw err;
      this.honourRateLimit(err);
      // Provider text goes into the message: make sure it cannot carry the key back out.
      throw this.scrubbed(err, [key.value]);
    }
  }

  /**
   * `err` again, or a copy whose message no longer carries a secret (a provider's text can echo the
   * key back; the HTTP client only scrubs what it wrote itself).
   */
  protected scrubbed(err: FetchError, secrets: readonly string[]): FetchError {
    const prefix = `[${this.source}] `;
    const text = err.message.startsWith(prefix) ? err.message.slice(prefix.length) : err.message;
    const safe = redactSecrets(text, secrets);
    if (safe === text) return err;
    return new FetchError({
      kind: err.kind,
      source: this.source,
      status: err.status,
      retryAfterMs: err.retryAfterMs,
      symbol: err.symbol,
      message: safe,
    });
  }
}

/** The options of the HTTP client every provider fetcher uses or creates (one shape for all four). */
export interface HttpTransportOptions {
  /**
   * HTTP client to share between fetchers of this source (created with the same `source`, which
   * names it in errors); when absent one is created with `poolSize` and `timeoutMs` and closed by
   * `close()`. @default undefined
   */
  http: HttpClient | undefined;
  /** Keep-alive sockets of the client this fetcher creates. Unit: sockets. @default 10 (`HTTP_POOL_SIZE`) */
  poolSize: number;
  /** Whole-request timeout of the client this fetcher creates. Unit: ms. @default 10000 */
  timeoutMs: number;
}

/** Defaults of {@link HttpTransportOptions}, spread into each provider's defaults constant. */
export const HTTP_TRANSPORT_DEFAULTS: Readonly<HttpTransportOptions> = Object.freeze({
  http: undefined,
  poolSize: HTTP_POOL_SIZE,
  timeoutMs: 10_000,
});
