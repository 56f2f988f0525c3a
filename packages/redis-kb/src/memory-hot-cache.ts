import {
  type Bar,
  type Clock,
  type Timeframe,
  assertNumberOption,
  OptionsError,
  resolveOptions,
  systemClock,
} from '@pipeline/core';
import { decodeValue, encodeValue } from './codec';
import { CacheClosedError } from './errors';
import { Emitter } from '@pipeline/core';
import {
  type BarsRejectedEvent,
  type BarsWrittenEvent,
  type CacheHealth,
  type CacheStats,
  type CacheStatusChange,
  type HotCache,
  type SignalWrittenEvent,
  type WriteBarsResult,
} from './hot-cache';
import { planWrite } from './write-plan';

export interface MemoryHotCacheOptions {
  /**
   * Bars kept per (symbol, timeframe); older ones are dropped. Memory: about 200 bytes per bar, so
   * the default bound is roughly `maxBars * maxSeries * 200` bytes (5000 x 1000 x 200 B = 1 GB worst case;
   * lower `maxSeries` on small hosts).
   * @default 5000 (MAX_BARS_CACHE)
   */
  maxBars: number;
  /**
   * Series (symbol, timeframe) kept; writing a new one beyond this evicts the least recently written.
   * @default 1000
   */
  maxSeries: number;
  /**
   * Symbols with a feature set or signal kept; beyond this the least recently set is evicted.
   * @default 10000
   */
  maxSymbols: number;
  /**
   * How many of the newest bars an older bar may replace (same `ts`); 0 refuses every older bar.
   * @default 64
   */
  replaceWindow: number;
  /**
   * Lifetime of a feature set, milliseconds (FEATURE_CACHE_TTL).
   * @default 2000
   */
  featureTtlMs: number;
  /**
   * Time source for feature expiry and health timestamps.
   * @default systemClock
   */
  clock: Clock;
}

export const MEMORY_HOT_CACHE_DEFAULTS: Readonly<MemoryHotCacheOptions> = Object.freeze({
  maxBars: 5000,
  maxSeries: 1000,
  maxSymbols: 10_000,
  replaceWindow: 64,
  featureTtlMs: 2000,
  clock: systemClock,
});

const NAME = 'MemoryHotCache';

/** One series: `bars` may run past `maxBars` by a slack so trimming is amortised, not per append. */
class Series {
  bars: Bar[] = [];
  constructor(private readonly maxBars: number) {}

  /** The logical window (last maxBars). */
  get start(): number {
    return Math.max(0, this.bars.length - this.maxBars);
  }
  get length(): number {
    return this.bars.length - this.start;
  }
  push(bar: Bar): void {
    this.bars.push(bar);
    if (this.bars.length > this.maxBars + Math.max(64, this.maxBars >> 3)) {
      this.bars.splice(0, this.bars.length - this.maxBars);
    }
  }
  /** First index (absolute) with ts >= t, within the logical window. */
  lowerBound(t: number): number {
    let lo = this.start;
    let hi = this.bars.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.bars[mid].ts < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/**
 * The embedded hot cache used when no Redis is configured: same contract as the Redis cache, held in
 * this process (bounded by `maxBars`, `maxSeries` and `maxSymbols`), with in-process fan-out events.
 */
export function createMemoryHotCache<TFeatures = Record<string, unknown>, TSignal = Record<string, unknown>>(
  options?: Partial<MemoryHotCacheOptions>,
): HotCache<TFeatures, TSignal> {
  const opts = resolveOptions(NAME, MEMORY_HOT_CACHE_DEFAULTS, options);
  assertNumberOption(NAME, 'maxBars', opts.maxBars, 1, 10_000_000);
  assertNumberOption(NAME, 'maxSeries', opts.maxSeries, 1);
  assertNumberOption(NAME, 'maxSymbols', opts.maxSymbols, 1);
  assertNumberOption(NAME, 'replaceWindow', opts.replaceWindow, 0, 10_000);
  assertNumberOption(NAME, 'featureTtlMs', opts.featureTtlMs, 1);
  if (typeof opts.clock?.now !== 'function') {
    throw new OptionsError(`${NAME}: option "clock" must have now(), got ${typeof opts.clock}`);
  }
  const { clock } = opts;
  const maxBars = Math.floor(opts.maxBars);
  const replaceWindow = Math.floor(opts.replaceWindow);

  const series = new Map<string, Series>();
  const features = new Map<string, { value: Buffer; expiresAt: number }>();
  const signals = new Map<string, Buffer>();
  const stats: CacheStats = {
    barsAppended: 0,
    barsReplaced: 0,
    barsRefused: 0,
    barsInvalid: 0,
    failedCalls: 0,
  };
  const createdAt = clock.now();
  let closed = false;

  const errors = new Emitter<Error>('redis-kb onError');
  const reportListenerError = (err: unknown) =>
    errors.emit(err instanceof Error ? err : new Error(String(err)));
  const barsEvents = new Emitter<BarsWrittenEvent>('redis-kb onBars', reportListenerError);
  const signalEvents = new Emitter<SignalWrittenEvent<TSignal>>('redis-kb onSignal', reportListenerError);
  const rejectedEvents = new Emitter<BarsRejectedEvent>('redis-kb onRejected', reportListenerError);
  const statusEvents = new Emitter<CacheStatusChange>('redis-kb onStatusChange', reportListenerError);

  const check = (op: string) => {
    if (closed) throw new CacheClosedError(op);
  };
  const sid = (symbol: string, timeframe: Timeframe) => `${symbol}\u0000${timeframe}`;
  // Map insertion order is the recency order: touching re-inserts, eviction drops the first.
  const touch = <V>(map: Map<string, V>, key: string, value: V, max: number) => {
    map.delete(key);
    map.set(key, value);
    if (map.size > max) map.delete(map.keys().next().value!);
  };

  const cache: HotCache<TFeatures, TSignal> = {
    kind: 'memory',
    maxBars,

    async ready() {
      check('ready');
    },

    async writeBars(bars) {
      check('writeBars');
      const plan = planWrite(bars);
      const result: WriteBarsResult = {
        appended: 0,
        replaced: 0,
        refused: 0,
        invalid: plan.invalid.length,
        series: plan.series.length,
      };
      const accepted: Bar[] = [];
      const refused: Bar[] = [];
      for (const batch of plan.series) {
        const id = sid(batch.symbol, batch.timeframe);
        const s = series.get(id) ?? new Series(maxBars);
        touch(series, id, s, opts.maxSeries);
        for (const input of batch.bars) {
          const bar = { ...input };
          const arr = s.bars;
          const tail = s.length > 0 ? arr[arr.length - 1] : undefined;
          if (tail === undefined || bar.ts > tail.ts) {
            s.push(bar);
            result.appended++;
          } else if (bar.ts === tail.ts) {
            arr[arr.length - 1] = bar;
            result.replaced++;
          } else {
            const lowest = Math.max(s.start, arr.length - replaceWindow);
            const i = s.lowerBound(bar.ts);
            if (i >= lowest && i < arr.length && arr[i].ts === bar.ts) {
              arr[i] = bar;
              result.replaced++;
            } else {
              result.refused++;
              refused.push(input);
              continue;
            }
          }
          accepted.push({ ...bar });
        }
      }
      stats.barsAppended += result.appended;
      stats.barsReplaced += result.replaced;
      stats.barsRefused += result.refused;
      stats.barsInvalid += result.invalid;
      if (accepted.length > 0) barsEvents.emit({ bars: accepted });
      if (refused.length > 0 || plan.invalid.length > 0)
        rejectedEvents.emit({ refused, invalid: plan.invalid });
      return result;
    },

    async latestBars(symbol, timeframe, limit) {
      check('latestBars');
      const s = series.get(sid(symbol, timeframe));
      if (!s || limit <= 0) return [];
      const from = Math.max(s.start, s.bars.length - Math.floor(limit));
      return copy(s.bars, from, s.bars.length);
    },

    async barsInRange(symbol, timeframe, from, to) {
      check('barsInRange');
      const s = series.get(sid(symbol, timeframe));
      if (!s || !(from < to)) return [];
      return copy(s.bars, s.lowerBound(from), s.lowerBound(to));
    },

    async lastBar(symbol, timeframe) {
      check('lastBar');
      const s = series.get(sid(symbol, timeframe));
      return s && s.length > 0 ? { ...s.bars[s.bars.length - 1] } : null;
    },

    async seriesLength(symbol, timeframe) {
      check('seriesLength');
      return series.get(sid(symbol, timeframe))?.length ?? 0;
    },

    async setFeatures(symbol, value) {
      check('setFeatures');
      // Round-trip through msgpack like Redis does: callers get a copy, and the same values survive.
      touch(
        features,
        symbol,
        { value: encodeValue(value), expiresAt: clock.now() + opts.featureTtlMs },
        opts.maxSymbols,
      );
    },

    async getFeatures(symbol) {
      check('getFeatures');
      const entry = features.get(symbol);
      if (!entry) return null;
      if (clock.now() >= entry.expiresAt) {
        features.delete(symbol);
        return null;
      }
      return decodeValue<TFeatures>(entry.value);
    },

    async setSignal(symbol, signal) {
      check('setSignal');
      const packed = encodeValue(signal);
      touch(signals, symbol, packed, opts.maxSymbols);
      signalEvents.emit({ symbol, signal: decodeValue<TSignal>(packed) });
    },

    async getSignal(symbol) {
      check('getSignal');
      const packed = signals.get(symbol);
      return packed ? decodeValue<TSignal>(packed) : null;
    },

    async getSignals(symbols) {
      check('getSignals');
      const out = new Map<string, TSignal>();
      for (const symbol of symbols) {
        const packed = signals.get(symbol);
        if (packed) out.set(symbol, decodeValue<TSignal>(packed));
      }
      return out;
    },

    onBars: barsEvents.on,
    onSignal: signalEvents.on,
    onRejected: rejectedEvents.on,
    onStatusChange: statusEvents.on,
    onError: errors.on,

    health(): CacheHealth {
      return { status: 'ready', lastError: null, since: createdAt };
    },
    stats() {
      return { ...stats };
    },
    async close() {
      if (closed) return;
      closed = true;
      series.clear();
      features.clear();
      signals.clear();
      for (const e of [barsEvents, signalEvents, rejectedEvents, statusEvents, errors]) e.clear();
    },
  };
  return cache;
}

function copy(bars: readonly Bar[], from: number, to: number): Bar[] {
  const out = new Array<Bar>(Math.max(0, to - from));
  for (let i = from; i < to; i++) out[i - from] = { ...bars[i] };
  return out;
}
