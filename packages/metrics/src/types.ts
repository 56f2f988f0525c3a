// The public shapes of @pipeline/metrics: the handles, the scrape providers and the PipelineMetrics object.
import { type MetricObjectWithValues, type MetricValue, type Registry } from 'prom-client';
import { type Disposable, type RateBudgetSnapshot } from '@pipeline/core';
import { type MetricsError } from './errors';
import { type BreakerStateLabel, type MetricKey } from './names';
import { type ResolvedPipelineMetricsOptions } from './options';

/** What scrape-time providers report; every field is optional and providers are merged. */
export interface ScrapeSnapshot {
  /** Open time (epoch ms) of the newest bar per generic symbol; null = no data yet (series omitted). */
  lastBarTs?: Record<string, number | null>;
  /** Bars buffered for the store and not yet written; summed over providers. */
  pendingWrites?: number;
  /** Circuit state per source. */
  breakers?: Partial<Record<string, BreakerStateLabel>>;
  /** Requests left per source (core's `Fetcher.budget()`); null windows are omitted. */
  rateBudgets?: Partial<Record<string, Pick<RateBudgetSnapshot, 'perMinuteLeft' | 'perDayLeft'>>>;
  /** Whether each generic symbol's data is stale now (the service's freshness rule). */
  stale?: Record<string, boolean>;
  /** Planned seconds between two polls of one symbol per source (the request planner); null omitted. */
  refreshIntervals?: Partial<Record<string, number | null>>;
  /**
   * Store flushes that failed since the store was opened (a history store's `stats().failedFlushes`);
   * summed over providers. Exposed as a counter: a restart resets it, which `increase()` handles.
   */
  storeFlushFailures?: number;
  /** The start-up bootstrap's progress; null or absent = no bootstrap has reported yet (series omitted). */
  bootstrap?: BootstrapSnapshot | null;
}

/** The numbers of a bootstrap run that the bootstrap gauges report. */
export interface BootstrapSnapshot {
  /** Chunks planned over all symbols. */
  chunksPlanned: number;
  /** Chunks finished (filled or failed). */
  chunksDone: number;
  /** Chunks no source could deliver in this run. */
  chunksFailed: number;
  /** Whether the run finished. */
  done: boolean;
}

export type ScrapeProvider = () => ScrapeSnapshot | Promise<ScrapeSnapshot>;

/** Label values may be strings or numbers; every value is sanitised before use. */
export type LabelValues<L extends string> = { readonly [K in L]: string | number };

export interface CounterHandle<L extends string> {
  /** Adds `by` (default 1). Negative or non-finite amounts are dropped and counted, never thrown. */
  inc(labels: LabelValues<L>, by?: number): void;
}
export interface PlainCounterHandle {
  inc(by?: number): void;
}
export interface HistogramHandle<L extends string> {
  /** Records one duration in seconds. Negative or non-finite values are dropped and counted. */
  observe(labels: LabelValues<L>, seconds: number): void;
  /** Starts a monotonic timer; calling the result records and returns the seconds elapsed. */
  startTimer(labels: LabelValues<L>): () => number;
}
export interface PlainHistogramHandle {
  observe(seconds: number): void;
  startTimer(): () => number;
}

export interface PipelineMetrics {
  readonly registry: Registry;
  readonly options: ResolvedPipelineMetricsOptions;
  /** Content-Type of `text()` for the HTTP answer. */
  readonly contentType: string;
  /** Full names (prefix included) by key. */
  readonly names: Readonly<Record<MetricKey, string>>;

  /** One collection cycle, start to end. */
  readonly cycleDuration: PlainHistogramHandle;
  /** Cycles that took longer than their interval. */
  readonly cycleOverruns: PlainCounterHandle;
  /** One fetch (all attempts) by source. */
  readonly fetchDuration: HistogramHandle<'source'>;
  /** Failed fetches by source and core FetchErrorKind (unknown kinds become `other`). */
  readonly fetchErrors: CounterHandle<'source' | 'kind'>;
  /** Bars accepted into the pipeline by source. */
  readonly barsIngested: CounterHandle<'source'>;
  /** Bars repaired by the validator, by rule. */
  readonly barsRepaired: CounterHandle<'rule'>;
  /** Bars rejected by the validator, by rule. */
  readonly barsRejected: CounterHandle<'rule'>;
  /** Hot cache operations by op (e.g. `append`, `read_last`). */
  readonly cacheOperationDuration: HistogramHandle<'op'>;
  /** SQLite store operations by op (e.g. `flush`, `read_range`). */
  readonly storeOperationDuration: HistogramHandle<'op'>;
  /** From the data a signal used to the signal being available. */
  readonly signalLatency: PlainHistogramHandle;
  /** HTTP requests by method, route pattern (never the raw URL) and status. */
  readonly httpRequests: CounterHandle<'method' | 'route' | 'status'>;
  readonly httpRequestDuration: HistogramHandle<'method' | 'route'>;

  /** Adds a provider asked once per scrape for the scrape-time gauges. */
  onScrape(provider: ScrapeProvider): Disposable;
  /** Called with a `METRICS_PROVIDER_FAILED` error when a provider throws; the scrape goes on. */
  onScrapeError(listener: (error: MetricsError) => void): Disposable;
  /** Prometheus text exposition of the whole registry. */
  text(): Promise<string>;
  /** The same as prom-client JSON (`registry.getMetricsAsJSON()`). */
  json(): Promise<Array<MetricObjectWithValues<MetricValue<string>>>>;
  /** Unregisters every metric this instance added (process metrics included). */
  close(): void;
}
