import {
  type Bar,
  type Clock,
  OptionsError,
  SequentialMap,
  TIMEFRAME_MS,
  type Timeframe,
  assertNumberOption,
  isTimeframe,
  resolveOptions,
  systemClock,
} from '@pipeline/core';
import { SnapshotError } from './errors';
import {
  DEFAULT_FEATURE_SET,
  type FeatureBar,
  type FeatureSetSpec,
  type FeatureValues,
  type FlatFeatureValues,
  IndicatorSet,
  type IndicatorSetSnapshot,
} from './feature-set';
import { Resampler, type ResamplerState } from './resampler';

export interface FeatureEngineOptions {
  /** Indicators computed on every timeframe (unless overridden per timeframe). @default DEFAULT_FEATURE_SET */
  features: FeatureSetSpec;
  /** Per-timeframe replacements of `features`. @default {} */
  featuresByTimeframe: Readonly<Partial<Record<Timeframe, FeatureSetSpec>>>;
  /** Timeframe of the bars given to `update()`. @default '1m' */
  baseTimeframe: Timeframe;
  /** Higher timeframes resampled from the base one; each a whole multiple of it. @default ['5m', '15m', '1h'] */
  timeframes: readonly Timeframe[];
  /** How long a computed feature set is served to readers before it is recomputed, ms (FEATURE_CACHE_TTL x 1000). @default 2000 */
  cacheTtlMs: number;
  /** Time source for the cache. @default systemClock */
  clock: Clock;
}

export const FEATURE_ENGINE_DEFAULTS: Readonly<FeatureEngineOptions> = Object.freeze({
  features: DEFAULT_FEATURE_SET,
  featuresByTimeframe: Object.freeze({}),
  baseTimeframe: '1m',
  timeframes: Object.freeze(['5m', '15m', '1h'] as const),
  cacheTtlMs: 2000,
  clock: systemClock,
});

/** What `update()` did with a bar. */
export const UPDATE_OUTCOMES = {
  /** A new base bar: every indicator advanced. */
  added: 'added',
  /** Same ts as the latest bar: the forming bar was replaced everywhere. */
  replaced: 'replaced',
  /** Not used; see the `onRejected` event for why. */
  rejected: 'rejected',
} as const;
export type UpdateOutcome = (typeof UPDATE_OUTCOMES)[keyof typeof UPDATE_OUTCOMES];

/** Why a bar was not used. */
export const REJECT_REASONS = {
  /** Older than the latest bar of its symbol (bars must come oldest first; the forming bar may repeat). */
  outOfOrder: 'out_of_order',
  /** Not the engine's base timeframe. */
  timeframe: 'timeframe',
  /** A price, volume or ts that is not a finite number. */
  nonFinite: 'non_finite',
  /** `warmStart(symbol, bars)` got a bar of another symbol. */
  symbol: 'symbol',
} as const;
export type RejectReason = (typeof REJECT_REASONS)[keyof typeof REJECT_REASONS];

/** Payload of the `onRejected` event. */
export interface RejectedBar {
  reason: RejectReason;
  symbol: string;
  timeframe: string;
  ts: number;
  /** For `out_of_order`: the latest ts seen for the symbol. */
  latestTs?: number;
}

/** Features of one timeframe of one symbol. */
export interface TimeframeFeatures {
  timeframe: Timeframe;
  /** Open time of the latest (possibly still forming) bar of this timeframe, epoch ms UTC. */
  ts: number;
  /** Bars seen on this timeframe (resampled bars for higher timeframes). */
  bars: number;
  values: FeatureValues;
}

/** The whole feature set of one symbol: plain JSON, what the sidecar serves at `/features/:symbol`. */
export interface FeatureSet {
  symbol: string;
  baseTimeframe: Timeframe;
  /** Open time of the latest base bar, epoch ms UTC. */
  ts: number;
  /** Whether the latest base bar was final. */
  final: boolean;
  /** When this object was computed, epoch ms (readers may get it for up to `cacheTtlMs`). */
  computedAt: number;
  timeframes: Partial<Record<Timeframe, TimeframeFeatures>>;
}

/** Engine state of one symbol, plain JSON, for restarts without a full recompute. */
export interface SymbolSnapshot {
  version: number;
  symbol: string;
  latestTs: number;
  final: boolean;
  timeframes: Partial<
    Record<Timeframe, { bars: number; resampler: ResamplerState | null; indicators: IndicatorSetSnapshot }>
  >;
}

/** Counters for health and metrics. */
export interface FeatureEngineStats {
  symbols: number;
  added: number;
  replaced: number;
  rejected: Record<RejectReason, number>;
  cacheHits: number;
  cacheMisses: number;
}

interface TfState {
  timeframe: Timeframe;
  set: IndicatorSet;
  resampler: Resampler | null;
  bars: number;
  /** The forming higher bar changed since it was last given to the indicators (applied lazily). */
  pending: boolean;
}

/** A higher timeframe: built from the base bars by its resampler. */
interface HigherTfState extends TfState {
  resampler: Resampler;
}

interface SymbolState {
  latestTs: number;
  final: boolean;
  /** Every timeframe, the base one first: `[base, ...higher]`. */
  tfs: TfState[];
  base: TfState;
  /** `base.set`, one pointer less to follow per bar. */
  baseSet: IndicatorSet;
  /** The higher timeframes; one shared empty array when there are none (nothing per symbol to read). */
  higher: readonly HigherTfState[];
  cached: FeatureSet | null;
  /** The frozen record of the last {@link FeatureEngine.updateValues} (base timeframe), or null. */
  latestValues: FlatFeatureValues | null;
}

const SNAPSHOT_VERSION = 1;

/** Shared by every symbol when no higher timeframe is computed (not frozen: a for-of over a frozen array took an iterator object). */
const NO_HIGHER: readonly HigherTfState[] = [];

/**
 * Keeps a declarative set of indicators per (symbol, timeframe) up to date from base bars, resamples
 * the base timeframe into higher ones (UTC-aligned, the forming higher bar updated by replace), and
 * serves each symbol's features as one object cached for `cacheTtlMs`.
 */
export class FeatureEngine {
  readonly options: Readonly<FeatureEngineOptions>;
  /**
   * Every symbol's state. The sidecar updates its symbols in the same order every cycle and reads each
   * one right after its update, so `get` (the state found last, then the one that followed it last
   * time, then the Map) skips the Map, whose buckets and entries were cache misses per symbol at
   * 20,000 symbols. Reads that are not part of that order (`getFeatures`, `snapshot`) peek.
   */
  private readonly symbols = new SequentialMap<string, SymbolState>();
  /**
   * Incoming bars are copied into this one object (same shape as the resampler's bars) before the
   * indicators see them: bars from JSON, msgpack or spreads have many hidden classes, and feeding them
   * directly would let every indicator call site see them all.
   */
  private readonly scratch: FeatureBar = { ts: NaN, open: NaN, high: NaN, low: NaN, close: NaN, volume: NaN };
  private readonly listeners = new Set<(e: RejectedBar) => void>();
  private readonly counters: FeatureEngineStats = {
    symbols: 0,
    added: 0,
    replaced: 0,
    rejected: { out_of_order: 0, timeframe: 0, non_finite: 0, symbol: 0 },
    cacheHits: 0,
    cacheMisses: 0,
  };

  constructor(options?: Partial<FeatureEngineOptions>) {
    const o = resolveOptions('FeatureEngine', FEATURE_ENGINE_DEFAULTS, options);
    if (!isTimeframe(o.baseTimeframe)) {
      throw new OptionsError(
        `FeatureEngine: option "baseTimeframe" must be a timeframe, got ${JSON.stringify(o.baseTimeframe)}`,
      );
    }
    if (!Array.isArray(o.timeframes)) {
      throw new OptionsError(
        `FeatureEngine: option "timeframes" must be an array, got ${JSON.stringify(o.timeframes)}`,
      );
    }
    const base = TIMEFRAME_MS[o.baseTimeframe];
    for (const tf of o.timeframes as unknown[]) {
      if (!isTimeframe(tf) || TIMEFRAME_MS[tf] <= base || TIMEFRAME_MS[tf] % base !== 0) {
        throw new OptionsError(
          `FeatureEngine: option "timeframes" must hold timeframes that are whole multiples of "${o.baseTimeframe}", got ${JSON.stringify(tf)}`,
        );
      }
    }
    for (const key of Object.keys(o.featuresByTimeframe)) {
      if (key !== o.baseTimeframe && !o.timeframes.includes(key)) {
        throw new OptionsError(
          `FeatureEngine: option "featuresByTimeframe" names ${JSON.stringify(key)}, which is not computed`,
        );
      }
    }
    assertNumberOption('FeatureEngine', 'cacheTtlMs', o.cacheTtlMs, 0);
    if (typeof o.clock?.now !== 'function') {
      throw new OptionsError(`FeatureEngine: option "clock" must have a now() method, got ${typeof o.clock}`);
    }
    this.options = o;
    // Compile once so a bad spec fails here, not on the first bar.
    this.newSymbol();
  }

  private newSymbol(): SymbolState {
    const o = this.options;
    const tfState = (tf: Timeframe) => ({
      timeframe: tf,
      set: new IndicatorSet(o.featuresByTimeframe[tf] ?? o.features),
      bars: 0,
      pending: false,
    });
    const base: TfState = { ...tfState(o.baseTimeframe), resampler: null };
    const higher: readonly HigherTfState[] =
      o.timeframes.length === 0
        ? NO_HIGHER
        : o.timeframes.map((tf) => ({ ...tfState(tf), resampler: new Resampler(tf) }));
    return {
      latestTs: -Infinity,
      final: false,
      tfs: [base, ...higher],
      base,
      baseSet: base.set,
      higher,
      cached: null,
      latestValues: null,
    };
  }

  /** The symbol's state, made on first use. */
  private state(symbol: string): SymbolState {
    let s = this.symbols.get(symbol);
    if (s === undefined) {
      s = this.newSymbol();
      this.symbols.set(symbol, s);
      this.counters.symbols = this.symbols.size;
    }
    return s;
  }

  private reject(e: RejectedBar): void {
    this.counters.rejected[e.reason]++;
    for (const l of this.listeners) l(e);
  }

  /**
   * Feeds one base-timeframe bar. A bar with the latest ts of its symbol replaces the forming bar;
   * a newer one is added; an older one, a bar of another timeframe or a non-finite one is rejected
   * (counted and reported to `onRejected`, never thrown).
   */
  update(bar: Bar): UpdateOutcome {
    const s = this.accept(bar);
    return s === null ? 'rejected' : this.advance(s, bar);
  }

  /**
   * The state of the bar's symbol (made on first use) when the bar may be used; null when it is
   * rejected (counted and reported).
   */
  private accept(bar: Bar): SymbolState | null {
    if (bar.timeframe !== this.options.baseTimeframe) {
      this.reject({ reason: 'timeframe', symbol: bar.symbol, timeframe: bar.timeframe, ts: bar.ts });
      return null;
    }
    const { ts, open, high, low, close, volume } = bar;
    if (!(
      ts - ts === 0 &&
      open - open === 0 &&
      high - high === 0 &&
      low - low === 0 &&
      close - close === 0 &&
      volume - volume === 0
    )) {
      this.reject({ reason: 'non_finite', symbol: bar.symbol, timeframe: bar.timeframe, ts });
      return null;
    }
    const s = this.state(bar.symbol);
    if (ts < s.latestTs) {
      this.reject({
        reason: 'out_of_order',
        symbol: bar.symbol,
        timeframe: bar.timeframe,
        ts,
        latestTs: s.latestTs,
      });
      return null;
    }
    return s;
  }

  /** Applies a bar {@link accept} took to its symbol's state. */
  private advance(s: SymbolState, bar: Bar): 'added' | 'replaced' {
    const { ts, open, high, low, close, volume } = bar;
    const replace = ts === s.latestTs;
    s.latestTs = ts;
    s.final = bar.final;
    const x = this.scratch;
    x.ts = ts;
    x.open = open;
    x.high = high;
    x.low = low;
    x.close = close;
    x.volume = volume;
    s.baseSet.update(x, replace);
    if (!replace) s.base.bars++;
    // Higher timeframes: a new higher bar is added at once; changes to the forming one are applied
    // lazily (before the next higher bar, a read or a snapshot). Replace is idempotent (replace(x)
    // then replace(y) equals replace(y)), so the result equals replacing on every base bar, at a
    // fraction of the cost.
    const higher = s.higher;
    for (let i = 0; i < higher.length; i++) {
      const t = higher[i] as HigherTfState; // i < higher.length
      const r = t.resampler;
      if (t.pending && r.startsNew(ts)) {
        t.set.update(r.bar, true);
        t.pending = false;
      }
      if (r.push(x, replace)) {
        t.set.update(r.bar, false);
        t.bars++;
      } else {
        t.pending = true;
      }
    }
    if (replace) this.counters.replaced++;
    else this.counters.added++;
    return replace ? 'replaced' : 'added';
  }

  /**
   * Warm start from stored bars (oldest first, base timeframe): forgets the symbol's state and replays
   * them. Values then equal a full recompute over those bars; for values identical to a computation
   * over the whole history, restore a {@link SymbolSnapshot} instead. Returns the bars used.
   */
  warmStart(symbol: string, bars: readonly Bar[]): number {
    this.symbols.delete(symbol);
    this.state(symbol);
    let used = 0;
    for (const b of bars) {
      if (b.symbol !== symbol) {
        this.reject({ reason: 'symbol', symbol: b.symbol, timeframe: b.timeframe, ts: b.ts });
        continue;
      }
      if (this.update(b) !== 'rejected') used++;
    }
    return used;
  }

  /**
   * The symbol's features, or null for a symbol never seen. Within `cacheTtlMs` of the last
   * computation readers get the same (frozen) object; then it is recomputed.
   */
  getFeatures(symbol: string): FeatureSet | null {
    const s = this.symbols.peek(symbol);
    if (s === undefined || s.latestTs === -Infinity) return null;
    const now = this.options.clock.now();
    if (s.cached !== null && now - s.cached.computedAt < this.options.cacheTtlMs) {
      this.counters.cacheHits++;
      return s.cached;
    }
    this.counters.cacheMisses++;
    this.flush(s);
    const timeframes: Partial<Record<Timeframe, TimeframeFeatures>> = {};
    for (const t of s.tfs) {
      timeframes[t.timeframe] = Object.freeze({
        timeframe: t.timeframe,
        ts: t.resampler === null ? s.latestTs : t.resampler.bar.ts,
        bars: t.bars,
        values: Object.freeze(t.set.values()),
      });
    }
    s.cached = Object.freeze({
      symbol,
      baseTimeframe: this.options.baseTimeframe,
      ts: s.latestTs,
      final: s.final,
      computedAt: now,
      timeframes: Object.freeze(timeframes),
    });
    return s.cached;
  }

  /**
   * The symbol's values on one timeframe (the base one by default) under the flat feature keys
   * (`featureKeys(spec)`: `ema12`, `macd`, `macd_signal`, `macd_hist`, ...; null while not stable), read
   * from the indicators now: no cache, no wrapper objects, no freezing. A new plain object per call;
   * {@link valuesInto} writes into one you keep instead. Null for a symbol never seen or a timeframe the
   * engine does not compute. Equal to `flattenFeatureValues(getFeatures(symbol).timeframes[tf].values,
   * spec)`, at a fraction of the cost (packages/features/README.md, "The feature engine").
   */
  values(symbol: string, timeframe: Timeframe = this.options.baseTimeframe): FlatFeatureValues | null {
    // A record made by the set's record constructor (IndicatorSet.flatValues), not a clone of a
    // template: cloning is faster, but a frozen clone (the sidecar freezes what it keeps) gets a map
    // of its own, about 300 bytes more per call (bench/hot-path.ts).
    const t = this.timeframeState(symbol, timeframe);
    return t === null ? null : t.set.flatValues();
  }

  /**
   * {@link values} written into `into` (every key of the timeframe's set; other keys are left as they
   * are) and returned, or null (and `into` untouched) for a symbol never seen or a timeframe not
   * computed. Reusing one record per symbol allocates nothing per call; the record is yours to mutate,
   * so copy it before handing it to code that keeps it.
   */
  valuesInto(
    symbol: string,
    into: FlatFeatureValues,
    timeframe: Timeframe = this.options.baseTimeframe,
  ): FlatFeatureValues | null {
    const t = this.timeframeState(symbol, timeframe);
    return t === null ? null : t.set.flatValuesInto(into);
  }

  /**
   * {@link update} and then {@link values} of the base timeframe, as one frozen record that the engine
   * also keeps as the symbol's latest ({@link latestValues}): one symbol lookup instead of one per call
   * plus one in a map of the caller's. Null (and the kept record unchanged) when the bar is rejected.
   * What the sidecar does per bar (apps/sidecar/src/strategy/features.ts).
   */
  updateValues(bar: Bar): Readonly<FlatFeatureValues> | null {
    const s = this.accept(bar);
    if (s === null) return null;
    this.advance(s, bar);
    const v = Object.freeze(s.baseSet.flatValues());
    s.latestValues = v;
    return v;
  }

  /**
   * The record of the symbol's last accepted {@link updateValues}, or null (never given to
   * `updateValues`, forgotten, or restored/warm-started since).
   */
  latestValues(symbol: string): Readonly<FlatFeatureValues> | null {
    const s = this.symbols.get(symbol);
    return s === undefined ? null : s.latestValues;
  }

  /** The timeframe's state with its pending forming bar applied, or null (symbol never seen, timeframe not computed). */
  private timeframeState(symbol: string, timeframe: Timeframe): TfState | null {
    const s = this.symbols.get(symbol);
    if (s === undefined || s.latestTs === -Infinity) return null;
    // The base timeframe has no pending bar: no walk over the timeframes.
    if (timeframe === this.options.baseTimeframe) return s.base;
    const tfs = s.tfs;
    for (let i = 0; i < tfs.length; i++) {
      const t = tfs[i] as TfState; // i < tfs.length
      if (t.timeframe !== timeframe) continue;
      if (t.pending && t.resampler !== null) {
        t.set.update(t.resampler.bar, true);
        t.pending = false;
      }
      return t;
    }
    return null;
  }

  private flush(s: SymbolState): void {
    for (const t of s.higher) {
      if (t.pending) {
        t.set.update(t.resampler.bar, true);
        t.pending = false;
      }
    }
  }

  /** Drops a symbol's state (e.g. when it is no longer collected); returns whether it existed. */
  forget(symbol: string): boolean {
    const existed = this.symbols.delete(symbol);
    this.counters.symbols = this.symbols.size;
    return existed;
  }

  /** Symbols seen so far. */
  listSymbols(): string[] {
    return [...this.symbols.keys()];
  }

  /** Subscribes to rejected bars; returns the unsubscribe function. Listeners must not throw. */
  onRejected(listener: (event: RejectedBar) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  stats(): FeatureEngineStats {
    return { ...this.counters, rejected: { ...this.counters.rejected } };
  }

  /** The symbol's whole state (plain JSON), or null for a symbol never seen. */
  snapshot(symbol: string): SymbolSnapshot | null {
    const s = this.symbols.peek(symbol);
    if (s === undefined) return null;
    this.flush(s);
    const timeframes: SymbolSnapshot['timeframes'] = {};
    for (const t of s.tfs) {
      timeframes[t.timeframe] = {
        bars: t.bars,
        resampler: t.resampler?.state() ?? null,
        indicators: t.set.snapshot(),
      };
    }
    return { version: SNAPSHOT_VERSION, symbol, latestTs: s.latestTs, final: s.final, timeframes };
  }

  /** Loads a snapshot taken by an engine with the same timeframes and features (`FEATURES_BAD_SNAPSHOT` otherwise). */
  restore(snapshot: SymbolSnapshot): void {
    if (typeof snapshot !== 'object' || snapshot === null || snapshot.version !== SNAPSHOT_VERSION) {
      throw new SnapshotError('FeatureEngine', `unsupported snapshot ${JSON.stringify(snapshot?.version)}`);
    }
    const s = this.newSymbol();
    for (const t of s.tfs) {
      const part = snapshot.timeframes?.[t.timeframe];
      if (part === undefined)
        throw new SnapshotError('FeatureEngine', `snapshot has no timeframe "${t.timeframe}"`);
      t.set.restore(part.indicators);
      if (t.resampler !== null) {
        if (part.resampler === null)
          throw new SnapshotError('FeatureEngine', `snapshot has no resampler for "${t.timeframe}"`);
        t.resampler.load(part.resampler);
      }
      t.bars = part.bars;
    }
    s.latestTs = snapshot.latestTs ?? -Infinity;
    s.final = snapshot.final;
    // Taken out and set again: the restored symbol is listed last, as a new one.
    this.symbols.delete(snapshot.symbol);
    this.symbols.set(snapshot.symbol, s);
    this.counters.symbols = this.symbols.size;
  }
}

/** Creates a {@link FeatureEngine}; options are validated now (`INVALID_OPTIONS`). */
export function createFeatureEngine(options?: Partial<FeatureEngineOptions>): FeatureEngine {
  return new FeatureEngine(options);
}
