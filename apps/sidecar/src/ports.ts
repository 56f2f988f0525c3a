// The narrow interfaces (ports) through which the sidecar uses the workspace libraries. The service
// logic depends only on these; src/wiring.ts adapts the real libraries to them, and tests can
// drive the service with the real libraries through the same seams.
import { type Bar, type Fetcher, type SourceName, type Timeframe } from '@pipeline/core';

/** The hot cache of recent bars (redis-kb: Redis or in-process). */
export interface BarCachePort {
  /** Writes bars (a forming bar with an existing ts replaces it). */
  write(bars: readonly Bar[]): Promise<void>;
  /** The latest `limit` bars, oldest first. */
  latest(symbol: string, timeframe: Timeframe, limit: number): Promise<Bar[]>;
  /** `up`, `down` or `memory` for /health. */
  state(): 'up' | 'down' | 'memory';
  close(): Promise<void>;
}

/** One gap in stored history: [from, to) has no bars where bars were expected. */
export interface HistoryGap {
  symbol: string;
  timeframe: Timeframe;
  from: number;
  to: number;
}

/** The history store (sqlite-store). Writes are buffered; `flush` writes them in one transaction. */
export interface BarStorePort {
  /** Queues bars for the next flush (same key replaces). */
  enqueue(bars: readonly Bar[]): void;
  flush(): Promise<number>;
  /** Bars queued but not flushed yet. */
  pending(): number;
  /** Open time of the newest and oldest stored bar, or null. */
  extent(symbol: string, timeframe: Timeframe): { first: number; last: number } | null;
  /** Stored bars in [from, to), oldest first. */
  range(symbol: string, timeframe: Timeframe, from: number, to: number): Bar[];
  /** The newest `limit` stored bars, oldest first. */
  latest(symbol: string, timeframe: Timeframe, limit: number): Bar[];
  /** Gaps inside [from, to) longer than the market's expected closures. */
  gaps(symbol: string, timeframe: Timeframe, from: number, to: number): HistoryGap[];
  /** `up` or `down` for /health. */
  state(): 'up' | 'down';
  close(): Promise<void>;
}

/** Latest indicator values of one symbol; null while an indicator is not yet stable. */
export type FeatureValues = Readonly<Record<string, number | null>>;

/** Incremental indicators (features): `update` replaces a forming bar with the same ts. */
export interface FeatureEnginePort {
  update(bar: Bar): FeatureValues;
  /** Feeds history oldest first (bootstrap warm-up). */
  warm(bars: readonly Bar[]): void;
  latest(symbol: string): FeatureValues | null;
}

/** The validator: scores bars 0..1 and drops the unusable; never throws on bad data. */
export interface ValidatorPort {
  validate(bars: readonly Bar[], previous: Bar | undefined): { bars: Bar[]; rejected: number; issues: readonly string[] };
}

/** Breaker state names as /health reports them. */
export const BREAKER_STATES = { closed: 'closed', open: 'open', halfOpen: 'half_open' } as const;
export type BreakerState = (typeof BREAKER_STATES)[keyof typeof BREAKER_STATES];

/** The per-source circuit breaker (breaker). `execute` rejects at once while the breaker is open. */
export interface SourceGuardPort {
  state(): BreakerState;
  execute<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T>;
  /** Recent success rate 0..1 and mean latency in ms, for /health. */
  stats(): { successRate: number | null; latencyMs: number | null };
}

/** One source in the fallback order. */
export interface SourceSlot {
  name: SourceName;
  fetcher: Fetcher;
  guard: SourceGuardPort;
}

/** Symbol translation (symbol-mapper). */
export interface SymbolPort {
  /** Any generic/broker/provider spelling to the generic symbol; null if unknown. */
  resolve(input: string): string | null;
  /** Generic to the broker's spelling (the generic itself when no broker is configured). */
  toBroker(symbol: string): string;
  /** Close matches for an unknown spelling. */
  suggest(input: string): string[];
}

/** The metrics the sidecar records (metrics). */
export interface MetricsPort {
  cycle(durationMs: number, symbols: number, failed: number): void;
  overrun(skippedTicks: number): void;
  fetch(source: SourceName, outcome: 'ok' | 'failed' | 'skipped', durationMs: number): void;
  barsWritten(count: number): void;
  barsRejected(count: number): void;
  signal(symbol: string, direction: string): void;
  /** Prometheus text exposition. */
  text(): Promise<string>;
  contentType: string;
  json(): Promise<unknown>;
}
