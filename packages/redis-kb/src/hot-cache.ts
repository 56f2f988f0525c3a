import { type Bar, type Timeframe } from '@pipeline/core';
import { type Disposable } from './events';

/**
 * Connection state as the host sees it: `ready` serves commands; `connecting` is the first connect
 * (or a reconnect that has not failed yet); `down` means Redis was lost and commands fail fast with
 * `CACHE_UNAVAILABLE` until a reconnect succeeds. The in-process cache is always `ready`.
 */
export const CACHE_STATUSES = { ready: 'ready', connecting: 'connecting', down: 'down' } as const;
export type CacheStatus = (typeof CACHE_STATUSES)[keyof typeof CACHE_STATUSES];

export interface CacheHealth {
  status: CacheStatus;
  /** The last connection or command error seen, or null. */
  lastError: Error | null;
  /** When the current status began, epoch ms (from the cache's clock). */
  since: number;
}

export interface CacheStatusChange extends CacheHealth {
  previous: CacheStatus;
}

/** What one `writeBars` call did; counts are bars. */
export interface WriteBarsResult {
  /** Newer than the series' last bar: appended (and the list trimmed to `maxBars`). */
  appended: number;
  /** Same `ts` as a cached bar (the tail, or one within `replaceWindow`): replaced in place. */
  replaced: number;
  /** Older than the tail and not found among the last `replaceWindow` bars: not stored. */
  refused: number;
  /** Unusable for the cache (bad symbol, timeframe, ts or price field): skipped, never thrown. */
  invalid: number;
  /** Series (symbol, timeframe) touched. */
  series: number;
}

/** Bars accepted (appended or replaced) by one write, in `ts` order per series. */
export interface BarsWrittenEvent {
  bars: readonly Bar[];
}

export interface SignalWrittenEvent<TSignal> {
  symbol: string;
  signal: TSignal;
}

/** Bars rejected by one write, with why; bad market data is reported, never thrown. */
export interface BarsRejectedEvent {
  refused: readonly Bar[];
  invalid: ReadonlyArray<{ bar: unknown; issue: string }>;
}

/** Running totals since the cache was created. */
export interface CacheStats {
  barsAppended: number;
  barsReplaced: number;
  barsRefused: number;
  barsInvalid: number;
  /** Calls that threw (unavailable or rejected by Redis). */
  failedCalls: number;
}

/**
 * The hot cache: the last N bars per (symbol, timeframe), the latest features per symbol (with a TTL)
 * and the latest signal per symbol, plus live notification of accepted bars and signals.
 * Implemented over Redis ({@link createRedisHotCache}) and in process ({@link createMemoryHotCache});
 * one contract test suite runs against both.
 *
 * Write rules per series, applied in `ts` order (a call's bars are sorted first; atomic per series
 * and call): same `ts` as the tail replaces it; newer appends and drops the oldest beyond `maxBars`;
 * older replaces a bar with that `ts` among the last `replaceWindow` bars, else it is refused.
 */
export interface HotCache<TFeatures = Record<string, unknown>, TSignal = Record<string, unknown>> {
  /** `redis` or `memory`. */
  readonly kind: 'redis' | 'memory';
  /** Bars kept per series. */
  readonly maxBars: number;

  /** Resolves once commands can be served; rejects with `CACHE_UNAVAILABLE` after `timeoutMs`. */
  ready(timeoutMs?: number): Promise<void>;
  /** Writes bars of any number of series in one batch. */
  writeBars(bars: readonly Bar[]): Promise<WriteBarsResult>;
  /** The latest `limit` bars, oldest first (fewer when fewer are cached). */
  latestBars(symbol: string, timeframe: Timeframe, limit: number): Promise<Bar[]>;
  /** Cached bars with `from <= ts < to`, oldest first. */
  barsInRange(symbol: string, timeframe: Timeframe, from: number, to: number): Promise<Bar[]>;
  /** The last bar, or null. */
  lastBar(symbol: string, timeframe: Timeframe): Promise<Bar | null>;
  /** Number of bars cached for a series. */
  seriesLength(symbol: string, timeframe: Timeframe): Promise<number>;

  /** Stores the latest feature set of a symbol for `featureTtlMs`. */
  setFeatures(symbol: string, features: TFeatures): Promise<void>;
  /** The feature set, or null when none or expired. */
  getFeatures(symbol: string): Promise<TFeatures | null>;
  /** Stores the latest signal of a symbol (no expiry) and fans it out. */
  setSignal(symbol: string, signal: TSignal): Promise<void>;
  getSignal(symbol: string): Promise<TSignal | null>;
  /** Latest signals of many symbols; symbols without one are absent from the map. */
  getSignals(symbols: readonly string[]): Promise<Map<string, TSignal>>;

  /** Bars accepted by writes through this instance. */
  onBars(listener: (event: BarsWrittenEvent) => void): Disposable;
  /** Signals stored through this instance. */
  onSignal(listener: (event: SignalWrittenEvent<TSignal>) => void): Disposable;
  /** Bars refused or invalid in a write. */
  onRejected(listener: (event: BarsRejectedEvent) => void): Disposable;
  onStatusChange(listener: (change: CacheStatusChange) => void): Disposable;
  /** Background errors: connection errors, listener exceptions. Never thrown. */
  onError(listener: (error: Error) => void): Disposable;

  health(): CacheHealth;
  stats(): CacheStats;
  /** Releases what the cache created (its own Redis client, listeners). Idempotent. */
  close(): Promise<void>;
}
