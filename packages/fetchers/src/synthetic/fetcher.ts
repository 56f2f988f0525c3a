import {
  FetchError,
  OptionsError,
  isFetchError,
  TIMEFRAMES,
  TIMEFRAME_MS,
  alignTs,
  assertNumberOption,
  resolveOptions,
  systemClock,
  type Bar,
  type Clock,
  type FetchHistoryRequest,
  type FetchLatestRequest,
  type RateBudgetSnapshot,
  type SourceCapabilities,
  type Timeframe,
} from '@pipeline/core';
import { type BatchFetcher, type FetchLatestManyRequest, type FetchLatestManyResult } from '../base/batch';
import { checkRequest, throwIfAborted } from '../base/fetcher-kit';
import { createFetcherStats, type FetcherStats } from '../base/stats';
import { PricePath } from './walk';

export interface SyntheticFetcherOptions {
  /** Seed of every path: same seed, same bars. @default 1 */
  seed: number;
  /**
   * Start price per symbol (its price at `epoch`). Symbols not listed start at `defaultStartPrice`.
   * @default { EURUSD: 1.1, XAUUSD: 2000, NAS100: 18000, BTCUSD: 60000, AAPL: 190 }
   */
  symbols: Readonly<Record<string, number>>;
  /** Start price of symbols missing from `symbols`; null refuses them (`symbol_not_found`). @default 100 */
  defaultStartPrice: number | null;
  /**
   * Standard deviation of one minute's log return (0.0002 = 0.02 % per minute, about 0.76 % per day
   * and 12 % a year: FX-like). @default 0.0002
   */
  volatility: number;
  /** Epoch ms where every path starts at its start price. @default Date.UTC(2024, 0, 1) */
  epoch: number;
  /** Time source: bars after `now` do not exist yet; the bar containing `now` is forming. @default systemClock */
  clock: Clock;
  /** Bars `fetchLatest` returns without a `limit`. @default 100 */
  latestLimit: number;
  /** Most bars one call may produce (a guard against 1s bars over years). @default 200000 */
  maxBarsPerRequest: number;
  /**
   * Most symbols one `fetchLatestMany` call answers (`capabilities.batchLatest.maxSymbols`): the
   * sidecar asks a cycle's symbols in batches of this many and processes each answer as it arrives,
   * so it also bounds how many answers wait behind each other. @default 100
   */
  batchMaxSymbols: number;
}

export const SYNTHETIC_FETCHER_DEFAULTS: Readonly<SyntheticFetcherOptions> = Object.freeze({
  seed: 1,
  symbols: Object.freeze({ EURUSD: 1.1, XAUUSD: 2000, NAS100: 18000, BTCUSD: 60000, AAPL: 190 }),
  defaultStartPrice: 100,
  volatility: 0.0002,
  epoch: Date.UTC(2024, 0, 1),
  clock: systemClock,
  latestLimit: 100,
  maxBarsPerRequest: 200_000,
  batchMaxSymbols: 100,
});

/** Also a batch source: `fetchLatestMany` answers many symbols per call (see `capabilities.batchLatest`). */
export interface SyntheticFetcher extends BatchFetcher {
  readonly source: 'synthetic';
  stats(): FetcherStats;
}

const MIN = 60_000;

class SyntheticFetcherImpl implements SyntheticFetcher {
  readonly source = 'synthetic' as const;
  readonly capabilities: SourceCapabilities;
  private readonly paths = new Map<string, PricePath>();
  /** Per symbol: extremes of the seconds quoted so far in the minute in progress, and the next second. */
  private readonly quoted = new Map<string, { from: number; next: number; high: number; low: number }>();
  private readonly counters = createFetcherStats();

  constructor(private readonly opts: Readonly<SyntheticFetcherOptions>) {
    this.capabilities = Object.freeze({
      source: 'synthetic',
      timeframes: TIMEFRAMES,
      historyDepthMs: {},
      maxRangeMsPerRequest: {},
      maxBarsPerRequest: opts.maxBarsPerRequest,
      needsApiKey: false,
      rateLimits: { perMinute: null, perDay: null },
      streaming: false,
      batchLatest: Object.freeze({
        timeframes: TIMEFRAMES,
        maxSymbols: opts.batchMaxSymbols,
        maxLimit: null,
        costPerSymbol: 0,
      }),
    });
  }

  async fetchLatest(req: FetchLatestRequest): Promise<Bar[]> {
    checkRequest('synthetic', req, false);
    throwIfAborted('synthetic', req.signal, req.symbol);
    return this.latest(req.symbol, req.timeframe, req.limit ?? this.opts.latestLimit, true);
  }

  /**
   * The latest bars of each symbol, as `fetchLatest` would answer them, in one call (counted as one
   * request); a symbol without a path (`defaultStartPrice: null`) gets its own `symbol_not_found`.
   */
  async fetchLatestMany(req: FetchLatestManyRequest): Promise<FetchLatestManyResult> {
    const { symbols, timeframe } = req;
    if (!Array.isArray(symbols) || symbols.length > this.opts.batchMaxSymbols) {
      throw new FetchError({
        kind: 'bad_request',
        source: 'synthetic',
        message: `symbols must be an array of at most ${this.opts.batchMaxSymbols}, got ${Array.isArray(symbols) ? `${symbols.length} symbols` : JSON.stringify(symbols)}`,
      });
    }
    for (const symbol of symbols) checkRequest('synthetic', { symbol, timeframe, limit: req.limit }, false);
    throwIfAborted('synthetic', req.signal);
    const limit = req.limit ?? this.opts.latestLimit;
    this.counters.requests++;
    const out: FetchLatestManyResult = new Map();
    for (const symbol of symbols) {
      if (out.has(symbol)) continue;
      try {
        out.set(symbol, this.latest(symbol, timeframe, limit, false));
      } catch (err) {
        if (!isFetchError(err) || err.kind !== 'symbol_not_found') throw err;
        out.set(symbol, err);
      }
    }
    return out;
  }

  private latest(symbol: string, timeframe: Timeframe, limit: number, count: boolean): Bar[] {
    const tf = TIMEFRAME_MS[timeframe];
    const last = alignTs(this.opts.clock.now(), timeframe);
    return this.build(symbol, timeframe, last - (limit - 1) * tf, last + tf, count);
  }

  async fetchHistory(req: FetchHistoryRequest): Promise<Bar[]> {
    checkRequest('synthetic', req, true);
    throwIfAborted('synthetic', req.signal, req.symbol);
    const tf = TIMEFRAME_MS[req.timeframe];
    const first = alignTs(req.from, req.timeframe);
    const bars = this.build(req.symbol, req.timeframe, first < req.from ? first + tf : first, req.to, true);
    req.onProgress?.({ requestsDone: 1, requestsPlanned: 1, bars: bars.length });
    return bars;
  }

  budget(): RateBudgetSnapshot {
    return { perMinuteLeft: null, perDayLeft: null, dayResetsAt: null, blockedUntil: null };
  }

  stats(): FetcherStats {
    return { ...this.counters };
  }

  async close(): Promise<void> {
    this.paths.clear();
    this.quoted.clear();
  }

  private path(symbol: string): PricePath {
    let p = this.paths.get(symbol);
    if (p) return p;
    const start = this.opts.symbols[symbol] ?? this.opts.defaultStartPrice;
    if (start === null)
      throw new FetchError({
        kind: 'symbol_not_found',
        source: 'synthetic',
        symbol,
        message: `no start price for ${symbol}`,
      });
    p = new PricePath({
      seed: this.opts.seed,
      symbol,
      startPrice: start,
      minuteVol: this.opts.volatility,
      epoch: this.opts.epoch,
    });
    this.paths.set(symbol, p);
    return p;
  }

  /** Bars with opens in [from, to) (from aligned), none after now; the one holding now is forming. */
  private build(symbol: string, timeframe: Timeframe, from: number, to: number, counted: boolean): Bar[] {
    const path = this.path(symbol);
    const tf = TIMEFRAME_MS[timeframe];
    const now = this.opts.clock.now();
    const end = Math.min(to, alignTs(now, timeframe) + tf);
    const count = Math.max(0, Math.ceil((end - from) / tf));
    if (count > this.opts.maxBarsPerRequest) {
      throw new FetchError({
        kind: 'bad_request',
        source: 'synthetic',
        symbol,
        message: `${count} bars requested, more than maxBarsPerRequest ${this.opts.maxBarsPerRequest}`,
      });
    }
    if (counted) this.counters.requests++;
    const out: Bar[] = [];
    for (let ts = from; ts < end; ts += tf) out.push(this.bar(path, symbol, timeframe, ts, now));
    this.counters.bars += out.length;
    return out;
  }

  private bar(path: PricePath, symbol: string, timeframe: Timeframe, ts: number, now: number): Bar {
    const tf = TIMEFRAME_MS[timeframe];
    const forming = now < ts + tf;
    const endT = forming ? now : ts + tf;
    const open = path.priceAt(ts);
    const close = path.priceAt(endT);
    let high = Math.max(open, close);
    let low = Math.min(open, close);
    let volume = 0;
    if (tf >= MIN) {
      const start = path.minuteOf(ts);
      const stop = path.minuteOf(endT);
      const base = open / Math.exp(path.logAtMinute(start));
      for (let m = start; m < stop; m++) {
        // A completed minute inside the bar: its endpoints plus its wick.
        const a = base * Math.exp(path.logAtMinute(m));
        const b = base * Math.exp(path.logAtMinute(m + 1));
        const w = path.wick(m);
        high = Math.max(high, Math.max(a, b) * Math.exp(w.up));
        low = Math.min(low, Math.min(a, b) * Math.exp(-w.down));
        volume += path.volume(m);
      }
      const minuteStart = stop * MIN + this.opts.epoch;
      if (forming && minuteStart < endT) {
        // The minute in progress: every second quoted so far (at most 60), so the high/low only grow.
        // The seconds already quoted in an earlier call are not priced again (a poll every second
        // would redo up to 60 per symbol): the extremes so far are kept and the loop resumes.
        const from = Math.max(minuteStart, ts);
        let q = this.quoted.get(symbol);
        if (q === undefined || q.from !== from || q.next > endT) {
          q = { from, next: from, high: -Infinity, low: Infinity };
          this.quoted.set(symbol, q);
        }
        for (let t = q.next; t < endT; t += 1000) {
          const p = path.priceAt(t);
          if (p > q.high) q.high = p;
          if (p < q.low) q.low = p;
          q.next = t + 1000;
        }
        high = Math.max(high, q.high);
        low = Math.min(low, q.low);
        volume += Math.round((path.volume(stop) * (endT - minuteStart)) / MIN);
      }
    } else {
      volume = Math.round(path.volume(path.minuteOf(ts)) / 60);
    }
    return {
      symbol,
      timeframe,
      ts,
      open,
      high,
      low,
      close,
      volume,
      source: 'synthetic',
      final: !forming,
      quality: 1,
    };
  }
}

/** Creates the offline `synthetic` source: seeded, deterministic, instant. For demos and load tests. */
export function createSyntheticFetcher(options?: Partial<SyntheticFetcherOptions>): SyntheticFetcher {
  const C = 'createSyntheticFetcher';
  const opts = resolveOptions(C, SYNTHETIC_FETCHER_DEFAULTS, options);
  assertNumberOption(C, 'seed', opts.seed, -(2 ** 53), 2 ** 53);
  assertNumberOption(C, 'volatility', opts.volatility, 1e-9, 0.1);
  assertNumberOption(C, 'epoch', opts.epoch, -8.64e15, 8.64e15);
  assertNumberOption(C, 'latestLimit', opts.latestLimit, 1, 1_000_000);
  assertNumberOption(C, 'maxBarsPerRequest', opts.maxBarsPerRequest, 1);
  assertNumberOption(C, 'batchMaxSymbols', opts.batchMaxSymbols, 1, 1_000_000);
  if (opts.defaultStartPrice !== null)
    assertNumberOption(C, 'defaultStartPrice', opts.defaultStartPrice, Number.MIN_VALUE);
  if (typeof opts.symbols !== 'object' || opts.symbols === null) {
    throw new OptionsError(
      `${C}: option "symbols" must be an object of start prices, got ${JSON.stringify(opts.symbols)}`,
    );
  }
  for (const [sym, price] of Object.entries(opts.symbols)) {
    if (typeof price !== 'number' || !Number.isFinite(price) || price <= 0) {
      throw new OptionsError(
        `${C}: option "symbols" start price of ${sym} must be a positive number, got ${JSON.stringify(price)}`,
      );
    }
  }
  return new SyntheticFetcherImpl(opts);
}
