// The in-process cache as it was before the issue-16 hot-path rework (commit 5b1df61), kept as the
// reference the equivalence property test compares the current one with. Not shipped.
import {
  type Bar,
  type Clock,
  type Timeframe,
  assertNumberOption,
  OptionsError,
  resolveOptions,
  systemClock,
} from '@pipeline/core';
import { decodeValue, encodeValue } from '../../src/codec';
import { CacheClosedError } from '../../src/errors';
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
} from '../../src/hot-cache';
import { planWrite } from './write-plan';

export interface MemoryHotCacheOptions {
  /**
   * Bars kept per (symbol, timeframe); older ones are dropped. Memory: 58 bytes per bar (typed-array
   * columns, see the README), so the bound is about `maxBars * maxSeries * 58` bytes (5000 x 1000 x 58 B =
   * 290 MB worst case with the defaults; lower `maxSeries` on small hosts).
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

/** Number columns per bar row: ts, open, high, low, close, volume, quality. */
const COLS = 7;
/** Bit of a row's tag that holds `final`; the low 15 bits hold the source's index in the source table. */
const FINAL_BIT = 0x8000;
/** Distinct `source` names one cache can hold (the tag's 15 bits). */
const MAX_SOURCES = 0x7fff;
/** First capacity of a new series, in bars; it doubles up to `maxBars` as the series grows. */
const FIRST_CAPACITY = 16;

/**
 * One series, held as columns rather than Bar objects: a ring of `capacity` rows in one Float64Array
 * (ts, open, high, low, close, volume, quality: 56 bytes a bar) and one Uint16Array of tags (source
 * index and the final bit: 2 bytes a bar); symbol and timeframe once per series. Bar objects are built
 * only when read. The ring grows by doubling until it holds `maxBars`, then the oldest row is
 * overwritten by each append.
 */
class Series {
  nums: Float64Array;
  tags: Uint16Array;
  capacity: number;
  /** Physical row of the oldest bar. */
  head = 0;
  length = 0;
  constructor(
    readonly symbol: string,
    readonly timeframe: Timeframe,
    private readonly maxBars: number,
  ) {
    this.capacity = Math.min(maxBars, FIRST_CAPACITY);
    this.nums = new Float64Array(this.capacity * COLS);
    this.tags = new Uint16Array(this.capacity);
  }

  /** Physical row of logical index i (0 = oldest). */
  row(i: number): number {
    const p = this.head + i;
    return p >= this.capacity ? p - this.capacity : p;
  }
  // Hot path: rows are < capacity and nums holds capacity * COLS cells, so every read below is in range
  // (callers pass 0 <= i < length). Reads are `nums[k] ?? NaN`: the fallback is never taken and V8 folds
  // it away on a Float64Array (no measurable cost), where a `!` would only silence the compiler.
  ts(i: number): number {
    return this.nums[this.row(i) * COLS] ?? NaN;
  }
  lastTs(): number {
    return this.nums[this.row(this.length - 1) * COLS] ?? NaN;
  }

  /** Appends a bar newer than the tail, dropping the oldest when `maxBars` are held. */
  push(bar: Bar, tag: number): void {
    if (this.length === this.capacity) {
      if (this.capacity < this.maxBars) this.grow();
      else {
        this.head = this.head + 1 === this.capacity ? 0 : this.head + 1;
        this.length--;
      }
    }
    this.length++;
    this.set(this.length - 1, bar, tag);
  }

  /** Overwrites logical index i. */
  set(i: number, bar: Bar, tag: number): void {
    const r = this.row(i);
    const o = r * COLS;
    const nums = this.nums;
    nums[o] = bar.ts;
    nums[o + 1] = bar.open;
    nums[o + 2] = bar.high;
    nums[o + 3] = bar.low;
    nums[o + 4] = bar.close;
    nums[o + 5] = bar.volume;
    nums[o + 6] = bar.quality;
    this.tags[r] = tag;
  }

  /** Materialises logical index i as a new Bar. */
  bar(i: number, sources: readonly string[]): Bar {
    const r = this.row(i);
    const o = r * COLS;
    const nums = this.nums;
    const tag = this.tags[r] ?? 0; // r < capacity = tags.length
    return {
      symbol: this.symbol,
      timeframe: this.timeframe,
      ts: nums[o] ?? NaN, // o + 6 < (r + 1) * COLS <= nums.length
      open: nums[o + 1] ?? NaN,
      high: nums[o + 2] ?? NaN,
      low: nums[o + 3] ?? NaN,
      close: nums[o + 4] ?? NaN,
      volume: nums[o + 5] ?? NaN,
      source: sources[tag & MAX_SOURCES] as Bar['source'],
      final: (tag & FINAL_BIT) !== 0,
      quality: nums[o + 6] ?? NaN,
    };
  }

  /** Bars [from, to) (logical indexes), oldest first. */
  slice(from: number, to: number, sources: readonly string[]): Bar[] {
    const out = new Array<Bar>(Math.max(0, to - from));
    for (let i = from; i < to; i++) out[i - from] = this.bar(i, sources);
    return out;
  }

  /** First logical index with ts >= t. */
  lowerBound(t: number): number {
    let lo = 0;
    let hi = this.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ts(mid) < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private grow(): void {
    const capacity = Math.min(this.maxBars, this.capacity * 2);
    const nums = new Float64Array(capacity * COLS);
    const tags = new Uint16Array(capacity);
    // Unroll the ring: [head, capacity) then [0, head).
    const firstPart = this.capacity - this.head;
    nums.set(this.nums.subarray(this.head * COLS), 0);
    nums.set(this.nums.subarray(0, this.head * COLS), firstPart * COLS);
    tags.set(this.tags.subarray(this.head), 0);
    tags.set(this.tags.subarray(0, this.head), firstPart);
    this.nums = nums;
    this.tags = tags;
    this.capacity = capacity;
    this.head = 0;
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
  // The source names seen, each stored once; a bar row keeps the index (15 bits of its tag).
  const sourceNames: string[] = [];
  const sourceIds = new Map<string, number>();
  const sourceIndex = (name: string): number => {
    let i = sourceIds.get(name);
    if (i === undefined) {
      if (sourceNames.length >= MAX_SOURCES) return -1;
      i = sourceNames.length;
      sourceNames.push(name);
      sourceIds.set(name, i);
    }
    return i;
  };
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
    if (map.size > max) {
      const oldest = map.keys().next();
      if (oldest.done !== true) map.delete(oldest.value);
    }
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
      const invalid = plan.invalid;
      for (const batch of plan.series) {
        const id = sid(batch.symbol, batch.timeframe);
        const s = series.get(id) ?? new Series(batch.symbol, batch.timeframe, maxBars);
        touch(series, id, s, opts.maxSeries);
        for (const input of batch.bars) {
          const source = sourceIndex(input.source);
          if (source < 0) {
            result.invalid++;
            invalid.push({ bar: input, issue: `more than ${MAX_SOURCES} distinct source names` });
            continue;
          }
          const tag = input.final ? source | FINAL_BIT : source;
          if (s.length === 0 || input.ts > s.lastTs()) {
            s.push(input, tag);
            result.appended++;
          } else if (input.ts === s.lastTs()) {
            s.set(s.length - 1, input, tag);
            result.replaced++;
          } else {
            const lowest = Math.max(0, s.length - replaceWindow);
            const i = s.lowerBound(input.ts);
            if (i >= lowest && i < s.length && s.ts(i) === input.ts) {
              s.set(i, input, tag);
              result.replaced++;
            } else {
              result.refused++;
              refused.push(input);
              continue;
            }
          }
          accepted.push({ ...input, final: (tag & FINAL_BIT) !== 0 });
        }
      }
      stats.barsAppended += result.appended;
      stats.barsReplaced += result.replaced;
      stats.barsRefused += result.refused;
      stats.barsInvalid += result.invalid;
      if (accepted.length > 0) barsEvents.emit({ bars: accepted });
      if (refused.length > 0 || invalid.length > 0) rejectedEvents.emit({ refused, invalid });
      return result;
    },

    async latestBars(symbol, timeframe, limit) {
      check('latestBars');
      const s = series.get(sid(symbol, timeframe));
      if (!s || limit <= 0) return [];
      return s.slice(Math.max(0, s.length - Math.floor(limit)), s.length, sourceNames);
    },

    async barsInRange(symbol, timeframe, from, to) {
      check('barsInRange');
      const s = series.get(sid(symbol, timeframe));
      if (!s || !(from < to)) return [];
      return s.slice(s.lowerBound(from), s.lowerBound(to), sourceNames);
    },

    async lastBar(symbol, timeframe) {
      check('lastBar');
      const s = series.get(sid(symbol, timeframe));
      return s && s.length > 0 ? s.bar(s.length - 1, sourceNames) : null;
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
