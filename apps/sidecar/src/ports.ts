// The narrow interfaces (ports) through which the sidecar uses the workspace libraries. Each is a
// structural subset of the library's own type (redis-kb's HotCache, sqlite-store's SqliteStore,
// breaker's BreakerRegistry, ...), so the real objects are passed in as they are; src/wiring.ts
// builds them from a config. The service logic depends only on these.
import {
  type Bar,
  type Fetcher,
  type HistoryCalendar,
  type HistoryStore,
  type SourceName,
  type Timeframe,
} from '@pipeline/core';

export { type HistoryGap, type SeriesQuery } from '@pipeline/core';
import { type PipelineMetrics } from '@pipeline/metrics';

/** The hot cache of recent bars, features and signals (redis-kb `HotCache`: Redis or in-process). */
export interface BarCachePort {
  readonly kind: 'redis' | 'memory';
  /** Writes bars of many series in one batch (a same-ts bar replaces the forming one). */
  writeBars(bars: readonly Bar[]): Promise<unknown>;
  /** The latest `limit` bars, oldest first. */
  latestBars(symbol: string, timeframe: Timeframe, limit: number): Promise<Bar[]>;
  setFeatures(symbol: string, features: Record<string, unknown>): Promise<void>;
  setSignal(symbol: string, signal: Record<string, unknown>): Promise<void>;
  health(): { status: 'ready' | 'connecting' | 'down'; connections?: { total: number; ready: number } };
  /**
   * Connection state changes (redis-kb `onStatusChange`): the sinks refill the cache the moment it is
   * ready again after an outage. @default none: refilled at the next write
   */
  onStatusChange?(
    listener: (change: { status: 'ready' | 'connecting' | 'down'; previous: string }) => void,
  ): { dispose(): void };
  close(): Promise<void>;
}

/**
 * The history store: `@pipeline/core`'s asynchronous {@link HistoryStore} port (reads, gaps and state
 * return promises, so a network store such as `@pipeline/pg-store` fits without blocking the loop;
 * writes are buffered and flushed by the store on its own timer). wiring/wiring.ts opens
 * `@pipeline/sqlite-store`'s `createSqliteHistoryStore`.
 */
export type BarStorePort = HistoryStore;

/** Latest indicator values of one symbol; null while an indicator is not yet stable. */
export type FeatureValues = Readonly<Record<string, number | null>>;

/** Incremental indicators per symbol (features): `update` replaces a forming bar with the same ts. */
export interface FeatureEnginePort {
  update(bar: Bar): FeatureValues;
  latest(symbol: string): FeatureValues | null;
}

/** The validator (validator `Validator`): scores bars 0..1, repairs or rejects; never throws on bad data. */
export interface ValidatorPort {
  /** One live bar against its series' state; `bar` is the scored (possibly repaired) copy. */
  validate(bar: Bar): { status: 'accepted' | 'repaired' | 'rejected'; bar: Bar };
  /**
   * The same verdict without the result object: null when rejected, else the scored (possibly
   * repaired) bar, which is `bar` itself when the verdict changes none of its values (never mutated).
   */
  keep(bar: Bar): Bar | null;
  /** A history batch judged from a blank state, as columns (status 2 = rejected). */
  validateSeries(series: readonly Bar[]): {
    status: ArrayLike<number>;
    quality: ArrayLike<number>;
    /** Repaired values of the (rare) repaired bars. */
    repairs: readonly { index: number; high: number; low: number; volume: number }[];
    rejected: number;
  };
}

/** Scores a history batch and keeps the usable bars, with repairs applied. */
export function validateHistory(
  validator: Pick<ValidatorPort, 'validateSeries'>,
  bars: readonly Bar[],
): Bar[] {
  if (bars.length === 0) return [];
  const r = validator.validateSeries(bars);
  const repairs = new Map(r.repairs.map((x) => [x.index, x]));
  const out: Bar[] = [];
  for (const [i, bar] of bars.entries()) {
    if (r.status[i] === 2) continue;
    const fix = repairs.get(i);
    const quality = r.quality[i] ?? NaN; // one score per bar
    out.push(
      fix ? { ...bar, high: fix.high, low: fix.low, volume: fix.volume, quality } : { ...bar, quality },
    );
  }
  return out;
}

/** Breaker state names as /health reports them (breaker's BREAKER_STATES). */
export type BreakerState = 'closed' | 'open' | 'half_open';

/** The per-source circuit breakers (breaker `BreakerRegistry`). */
export interface BreakerPort {
  /** Runs `fn` through the source's breaker; `options.signal` cancels it (shutdown). */
  execute<T>(
    source: SourceName,
    fn: (signal: AbortSignal) => Promise<T>,
    options?: { signal?: AbortSignal },
  ): Promise<T>;
  /** False while the circuit is open or the source cools down after a 429. */
  isCallable(source: SourceName): boolean;
  snapshot(source: SourceName): {
    state: BreakerState;
    successRate: number | null;
    latencyMs: { p50: number | null; p99: number | null };
    /** Until when the source is paused after a 429 with Retry-After (epoch ms), or null. */
    coolingDownUntil: number | null;
  };
  close(): void;
}

/** One source in the fallback order. */
export interface SourceSlot {
  name: SourceName;
  fetcher: Fetcher;
}

/** Symbol translation (symbol-mapper). */
export interface SymbolPort {
  /** Any generic/broker/provider spelling to the generic symbol; null if unknown. */
  resolve(input: string): string | null;
  /** Generic to the broker's spelling (the generic itself when no broker is configured). */
  toBroker(symbol: string): string;
  /** Close matches for an unknown spelling. */
  suggest(input: string): string[];
  /** The trading calendar whose closed hours are not gaps (sqlite-store's built-in calendars). */
  calendar(symbol: string): MarketCalendar;
}

/**
 * When a market is open, so that nights, weekends and closed sessions are not taken for gaps
 * (core's `HistoryCalendar`): `fx` (Sunday 22:00 to Friday 22:00 UTC) for FX and metals,
 * `us-equity` (09:30-16:00 New York) for US stocks and the US indices, `24x7` for crypto. Other
 * indices have weekday sessions in their own time zones; `fx` is the closest built-in, and the night
 * hours it leaves are remembered as exhausted after one fetch attempt (see bootstrap).
 */
export type MarketCalendar = HistoryCalendar;

/**
 * The metrics the sidecar records and serves (metrics `PipelineMetrics`, a private prom-client
 * registry): typed handles, scrape-time gauges fed by `onScrape`, text and JSON exposition.
 */
export type MetricsPort = Pick<
  PipelineMetrics,
  | 'cycleDuration'
  | 'cycleOverruns'
  | 'fetchDuration'
  | 'fetchErrors'
  | 'barsIngested'
  | 'signalLatency'
  | 'httpRequests'
  | 'httpRequestDuration'
  | 'onScrape'
  | 'text'
  | 'json'
  | 'contentType'
>;
