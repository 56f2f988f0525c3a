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
import { Emitter, SeriesLru } from '@pipeline/core';
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
import { cacheIssue } from './keys';
import { planWrite, type WritePlan } from './write-plan';

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
  /** Neighbours in the index's recency list (core's SeriesLru); false `live` once evicted or the cache is closed. */
  lruPrev: Series | null = null;
  lruNext: Series | null = null;
  live = false;
  /** The last writeBars call that met this series (its fast path sees a series twice by this). */
  stamp = 0;
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
 * The series of one cache in core's `SeriesLru` (found by timeframe then symbol, no key string built
 * per call; write-recency order on a list through the series): a write moves its series to the tail
 * in O(1), and beyond `max` the least recently written is dropped. `live` says whether a series is
 * still held (a writer may keep a reference to one that was evicted meanwhile).
 */
class SeriesIndex {
  private readonly lru: SeriesLru<Series>;

  constructor(max: number) {
    this.lru = new SeriesLru(max);
  }

  get(symbol: string, timeframe: string): Series | undefined {
    return this.lru.get(symbol, timeframe);
  }

  /** Marks `s` most recently written, adding it first if it is not held; evicts beyond the bound. */
  touch(s: Series): void {
    if (s.live) {
      this.lru.touch(s);
      return;
    }
    s.live = true;
    const evicted = this.lru.add(s);
    if (evicted !== null) evicted.live = false;
  }

  clear(): void {
    this.lru.clear((s) => {
      s.live = false;
    });
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

  const series = new SeriesIndex(opts.maxSeries);
  /** Stamp of the current writeBars call (Series.stamp). */
  let writeStamp = 0;
  // The fast path's runs, reused between calls (grown, never shrunk: truncating would free them and
  // each call would grow them again): per series run, its start in the batch and its series (null for
  // one not held yet); `runs` of them are in use.
  let runStart = new Int32Array(64);
  const runSeries: (Series | null)[] = [];
  let runs = 0;
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
  // Map insertion order is the recency order: touching re-inserts, eviction drops the first.
  const touch = <V>(map: Map<string, V>, key: string, value: V, max: number) => {
    map.delete(key);
    map.set(key, value);
    if (map.size > max) {
      const oldest = map.keys().next();
      if (oldest.done !== true) map.delete(oldest.value);
    }
  };

  /**
   * The fast path's plan, in `runStart` / `runSeries`: true when every bar is cacheable and each
   * series comes in one run of non-decreasing ts (what a batch of one bar per series, or of a few
   * sorted bars per series, always is); false (runs cleared) when planWrite must sort it out.
   */
  const planRuns = (bars: readonly Bar[]): boolean => {
    const stamp = ++writeStamp;
    runs = 0;
    let fresh: Set<string> | null = null;
    let prev: Bar | null = null;
    for (let i = 0; i < bars.length; i++) {
      const bar = bars[i] as Bar; // i < bars.length
      if (cacheIssue(bar) !== null) return abandonRuns();
      if (prev !== null && bar.symbol === prev.symbol && bar.timeframe === prev.timeframe) {
        if (bar.ts < prev.ts) return abandonRuns();
        prev = bar;
        continue;
      }
      const s = series.get(bar.symbol, bar.timeframe);
      if (s !== undefined) {
        if (s.stamp === stamp) return abandonRuns(); // its series came earlier, in another run
        s.stamp = stamp;
      } else {
        // A series not held yet (rare: first writes): seen twice is found by its key.
        const key = `${bar.symbol}\u0000${bar.timeframe}`;
        fresh ??= new Set();
        if (fresh.has(key)) return abandonRuns();
        fresh.add(key);
      }
      if (runs === runStart.length) {
        const grown = new Int32Array(runs * 2);
        grown.set(runStart);
        runStart = grown;
      }
      runStart[runs] = i;
      if (runs < runSeries.length) runSeries[runs] = s ?? null;
      else runSeries.push(s ?? null);
      runs++;
      prev = bar;
    }
    return true;
  };
  const abandonRuns = (): false => {
    runSeries.fill(null, 0, runs);
    runs = 0;
    return false;
  };

  /** Appends, replaces or refuses one cacheable bar of series `s`, counting it in `result`. */
  const writeOne = (
    s: Series,
    input: Bar,
    result: WriteBarsResult,
    accepted: Bar[] | null,
    refused: Bar[],
    invalid: WritePlan['invalid'],
  ): void => {
    const source = sourceIndex(input.source);
    if (source < 0) {
      result.invalid++;
      invalid.push({ bar: input, issue: `more than ${MAX_SOURCES} distinct source names` });
      return;
    }
    const tag = input.final ? source | FINAL_BIT : source;
    // The tail's ts read here, once, rather than through lastTs(): a double returned from a call
    // that is not inlined is boxed, 16 bytes a bar.
    const ts = input.ts;
    const lastTs = s.length === 0 ? NaN : (s.nums[s.row(s.length - 1) * COLS] ?? NaN);
    if (s.length === 0 || ts > lastTs) {
      s.push(input, tag);
      result.appended++;
    } else if (ts === lastTs) {
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
        return;
      }
    }
    if (accepted !== null) accepted.push({ ...input, final: (tag & FINAL_BIT) !== 0 });
  };

  const cache: HotCache<TFeatures, TSignal> = {
    kind: 'memory',
    maxBars,

    async ready() {
      check('ready');
    },

    async writeBars(bars) {
      check('writeBars');
      const result: WriteBarsResult = { appended: 0, replaced: 0, refused: 0, invalid: 0, series: 0 };
      // Bar copies for onBars and refused bars for onRejected only while someone listens.
      const accepted: Bar[] | null = barsEvents.size > 0 ? [] : null;
      const refused: Bar[] = [];
      let invalid: WritePlan['invalid'];
      if (planRuns(bars)) {
        // Every bar cacheable, each series in one ts-sorted run: the runs are planWrite's series,
        // in the same order, without building it.
        invalid = [];
        const n = runs;
        runs = 0;
        result.series = n;
        for (let r = 0; r < n; r++) {
          // r < n <= runStart.length and runSeries.length: both written for every run.
          const from = runStart[r] ?? 0;
          const to = r + 1 < n ? (runStart[r + 1] ?? 0) : bars.length;
          const first = bars[from] as Bar;
          let s = runSeries[r] ?? null;
          runSeries[r] = null; // hold no series between calls
          // Evicted by an earlier run of this call: a new series, as a fresh lookup would find.
          if (s === null || !s.live) s = new Series(first.symbol, first.timeframe, maxBars);
          series.touch(s);
          for (let i = from; i < to; i++) writeOne(s, bars[i] as Bar, result, accepted, refused, invalid);
        }
      } else {
        const plan = planWrite(bars);
        invalid = plan.invalid;
        result.invalid = invalid.length;
        result.series = plan.series.length;
        for (const batch of plan.series) {
          let s = series.get(batch.symbol, batch.timeframe);
          if (s === undefined) s = new Series(batch.symbol, batch.timeframe, maxBars);
          series.touch(s);
          for (const input of batch.bars) writeOne(s, input, result, accepted, refused, invalid);
        }
      }
      stats.barsAppended += result.appended;
      stats.barsReplaced += result.replaced;
      stats.barsRefused += result.refused;
      stats.barsInvalid += result.invalid;
      if (accepted !== null && accepted.length > 0) barsEvents.emit({ bars: accepted });
      if (refused.length > 0 || invalid.length > 0) rejectedEvents.emit({ refused, invalid });
      return result;
    },

    async latestBars(symbol, timeframe, limit) {
      check('latestBars');
      const s = series.get(symbol, timeframe);
      if (!s || limit <= 0) return [];
      return s.slice(Math.max(0, s.length - Math.floor(limit)), s.length, sourceNames);
    },

    async barsInRange(symbol, timeframe, from, to) {
      check('barsInRange');
      const s = series.get(symbol, timeframe);
      if (!s || !(from < to)) return [];
      return s.slice(s.lowerBound(from), s.lowerBound(to), sourceNames);
    },

    async lastBar(symbol, timeframe) {
      check('lastBar');
      const s = series.get(symbol, timeframe);
      return s && s.length > 0 ? s.bar(s.length - 1, sourceNames) : null;
    },

    async seriesLength(symbol, timeframe) {
      check('seriesLength');
      return series.get(symbol, timeframe)?.length ?? 0;
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
