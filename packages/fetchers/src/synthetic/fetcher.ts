import {
  FetchError,
  OptionsError,
  SequentialMap,
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
/** Final bars remembered per symbol: a poll for the latest 3 asks for the same 2 final ones again. */
const MEMO_SLOTS = 4;

/**
 * One symbol's state: its path; the extremes of the seconds quoted so far in the minute in progress
 * and the next second to quote (`qFrom` is the minute they belong to; NaN before the first); the
 * last open priced; and the last {@link MEMO_SLOTS} final bars built, frozen (a final bar never
 * changes, so a poll that asks for it again gets the same object instead of pricing it again or
 * copying it).
 */
class SymbolFeed {
  qFrom = Number.NaN;
  qNext = Number.NaN;
  qHigh = -Infinity;
  qLow = Infinity;
  /** The last bar open priced (a price at a time: the same for every timeframe). */
  openTs = Number.NaN;
  openPrice = Number.NaN;
  /** The minute whose volume `minuteVolume` is (the forming minute's, read on every poll). */
  volMinute = Number.NaN;
  minuteVolume = 0;
  private readonly memo: (Bar | null)[] = [null, null, null, null];
  private memoNext = 0;

  constructor(
    readonly symbol: string,
    readonly path: PricePath,
  ) {}

  /** The remembered final bar (timeframe, ts), or null. */
  memoized(timeframe: Timeframe, ts: number): Bar | null {
    const m = this.memo;
    for (let i = 0; i < MEMO_SLOTS; i++) {
      const b = m[i];
      if (b && b.ts === ts && b.timeframe === timeframe) return b;
    }
    return null;
  }

  /** Keeps a final bar (frozen: it is handed out again), in place of the oldest kept. */
  remember(bar: Readonly<Bar>): void {
    const i = this.memoNext;
    this.memoNext = i + 1 === MEMO_SLOTS ? 0 : i + 1;
    this.memo[i] = bar;
  }

  /** Volume of minute `m` (the path's, read once per minute instead of once per poll). */
  volumeOf(m: number): number {
    if (this.volMinute !== m) {
      this.minuteVolume = this.path.volume(m);
      this.volMinute = m;
    }
    return this.minuteVolume;
  }
}

class SyntheticFetcherImpl implements SyntheticFetcher {
  readonly source = 'synthetic' as const;
  readonly capabilities: SourceCapabilities;
  /**
   * Per symbol: its price path, the seconds quoted so far and the last final bars built. The sidecar
   * asks the same batches in the same order every cycle, so the feed found last and the one that
   * followed it last time are tried before the Map (whose buckets and entries were cache misses per
   * symbol at 20,000).
   */
  private readonly feeds = new SequentialMap<string, SymbolFeed>();
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
    // The request's own fields are checked once; a symbol only when it is not a plain non-empty
    // string (checkRequest then throws the same error it always did), with no object per symbol; the
    // first symbol is checked in full, so the first error is the one a check per symbol would throw.
    for (let i = 0; i < symbols.length; i++) {
      const symbol: unknown = symbols[i];
      if (i === 0 || typeof symbol !== 'string' || symbol.trim() === '')
        checkRequest('synthetic', { symbol, timeframe, limit: req.limit }, false);
    }
    throwIfAborted('synthetic', req.signal);
    const limit = req.limit ?? this.opts.latestLimit;
    this.counters.requests++;
    const out: FetchLatestManyResult = new Map();
    // One clock read for the whole answer: every symbol's bars end at the same instant, so the range
    // (and its check) is the same for every symbol and worked out once.
    const now = this.opts.clock.now();
    const tf = TIMEFRAME_MS[timeframe];
    const last = alignTs(now, timeframe);
    const from = last - (limit - 1) * tf;
    const count = Math.max(0, Math.ceil((last + tf - from) / tf));
    const tooMany = count > this.opts.maxBarsPerRequest;
    for (let i = 0; i < symbols.length; i++) {
      const symbol = symbols[i] as string;
      if (out.has(symbol)) continue;
      const feed = this.feedOrError(symbol);
      if (!(feed instanceof SymbolFeed)) out.set(symbol, feed);
      // Too many bars: latestAt throws the error a request for this symbol alone would.
      else if (tooMany) out.set(symbol, this.latestAt(feed, timeframe, limit, now, false));
      else {
        out.set(symbol, this.fill(feed, timeframe, tf, from, count, now));
        this.counters.bars += count;
      }
    }
    return out;
  }

  private latest(symbol: string, timeframe: Timeframe, limit: number, count: boolean): Bar[] {
    const feed = this.feedOrError(symbol);
    if (!(feed instanceof SymbolFeed)) throw feed;
    return this.latestAt(feed, timeframe, limit, this.opts.clock.now(), count);
  }

  private latestAt(
    feed: SymbolFeed,
    timeframe: Timeframe,
    limit: number,
    now: number,
    count: boolean,
  ): Bar[] {
    const tf = TIMEFRAME_MS[timeframe];
    const last = alignTs(now, timeframe);
    return this.buildAt(feed, timeframe, last - (limit - 1) * tf, last + tf, now, count);
  }

  async fetchHistory(req: FetchHistoryRequest): Promise<Bar[]> {
    checkRequest('synthetic', req, true);
    throwIfAborted('synthetic', req.signal, req.symbol);
    const tf = TIMEFRAME_MS[req.timeframe];
    const first = alignTs(req.from, req.timeframe);
    const feed = this.feedOrError(req.symbol);
    if (!(feed instanceof SymbolFeed)) throw feed;
    const from = first < req.from ? first + tf : first;
    const bars = this.buildAt(feed, req.timeframe, from, req.to, this.opts.clock.now(), true);
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
    this.feeds.clear();
  }

  /** The symbol's feed, created on first use, or its `symbol_not_found` error (returned, not thrown). */
  private feedOrError(symbol: string): SymbolFeed | FetchError {
    const known = this.feeds.get(symbol);
    if (known !== undefined) return known;
    const start = this.opts.symbols[symbol] ?? this.opts.defaultStartPrice;
    if (start === null)
      return new FetchError({
        kind: 'symbol_not_found',
        source: 'synthetic',
        symbol,
        message: `no start price for ${symbol}`,
      });
    const feed = new SymbolFeed(
      symbol,
      new PricePath({
        seed: this.opts.seed,
        symbol,
        startPrice: start,
        minuteVol: this.opts.volatility,
        epoch: this.opts.epoch,
      }),
    );
    this.feeds.set(symbol, feed);
    return feed;
  }

  /** Bars with opens in [from, to) (from aligned), none after now; the one holding now is forming. */
  private buildAt(
    feed: SymbolFeed,
    timeframe: Timeframe,
    from: number,
    to: number,
    now: number,
    counted: boolean,
  ): Bar[] {
    const symbol = feed.symbol;
    const tf = TIMEFRAME_MS[timeframe];
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
    const out = this.fill(feed, timeframe, tf, from, count, now);
    this.counters.bars += count;
    return out;
  }

  /** The `count` bars opening at `from`, `from + tf`, ... (checked by the caller). */
  private fill(
    feed: SymbolFeed,
    timeframe: Timeframe,
    tf: number,
    from: number,
    count: number,
    now: number,
  ): Bar[] {
    // Exactly `count` cells (a pushed array would reserve 16); every cell is written below. Only the
    // last MEMO_SLOTS bars of a call can still be in the memo after it: the earlier ones are not kept.
    const out = new Array<Bar>(count);
    const keepFrom = count - MEMO_SLOTS;
    for (let i = 0, ts = from; i < count; i++, ts += tf) {
      // A final bar is a function of (symbol, timeframe, ts) only: the last few are kept, frozen, and
      // a poll that asks for them again gets the same object (no pricing, no copy).
      const known = now < ts + tf ? null : feed.memoized(timeframe, ts);
      out[i] = known ?? this.bar(feed, timeframe, tf, ts, now, i >= keepFrom);
    }
    return out;
  }

  /** Prices the bar opening at `ts` (a final one not in the memo, or the forming one) and keeps it if `keep`. */
  private bar(
    feed: SymbolFeed,
    timeframe: Timeframe,
    tf: number,
    ts: number,
    now: number,
    keep: boolean,
  ): Bar {
    const forming = now < ts + tf;
    const symbol = feed.symbol;
    const path = feed.path;
    const endT = forming ? now : ts + tf;
    // The forming bar's open is priced once per bar period, not once per poll.
    let open: number;
    if (feed.openTs === ts) open = feed.openPrice;
    else {
      open = path.priceAt(ts);
      feed.openTs = ts;
      feed.openPrice = open;
    }
    const close = path.priceAt(endT);
    let high = Math.max(open, close);
    let low = Math.min(open, close);
    let volume = 0;
    if (tf >= MIN) {
      const start = path.minuteOf(ts);
      const stop = path.minuteOf(endT);
      if (start < stop) {
        // Completed minutes inside the bar (none while a 1m bar forms: no base to price then).
        const base = open / Math.exp(path.logAtMinute(start));
        for (let m = start; m < stop; m++) {
          // A completed minute inside the bar: its endpoints plus its wick.
          const a = base * Math.exp(path.logAtMinute(m));
          const b = base * Math.exp(path.logAtMinute(m + 1));
          path.wickOf(m);
          high = Math.max(high, Math.max(a, b) * Math.exp(path.wickUp));
          low = Math.min(low, Math.min(a, b) * Math.exp(-path.wickDown));
          volume += path.volume(m);
        }
      }
      const minuteStart = stop * MIN + this.opts.epoch;
      if (forming && minuteStart < endT) {
        // The minute in progress: every second quoted so far (at most 60), so the high/low only grow.
        // The seconds already quoted in an earlier call are not priced again (a poll every second
        // would redo up to 60 per symbol): the extremes so far are kept and the loop resumes.
        const from = Math.max(minuteStart, ts);
        const q = feed;
        if (q.qFrom !== from || q.qNext > endT) {
          q.qFrom = from;
          q.qNext = from;
          q.qHigh = -Infinity;
          q.qLow = Infinity;
        }
        for (let t = q.qNext; t < endT; t += 1000) {
          const p = path.priceAt(t);
          if (p > q.qHigh) q.qHigh = p;
          if (p < q.qLow) q.qLow = p;
          q.qNext = t + 1000;
        }
        high = Math.max(high, q.qHigh);
        low = Math.min(low, q.qLow);
        volume += Math.round((feed.volumeOf(stop) * (endT - minuteStart)) / MIN);
      }
    } else {
      volume = Math.round(path.volume(path.minuteOf(ts)) / 60);
    }
    const bar: Bar = {
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
    if (!forming && keep) feed.remember(Object.freeze(bar));
    return bar;
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
