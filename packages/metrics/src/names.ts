// The metric names (without prefix) and the closed label sets of the scrape-time gauges.

/** Metric names without the prefix. Units are in the names (`_seconds`); counters end in `_total`. */
export const METRIC_NAMES = {
  cycleDuration: 'cycle_duration_seconds',
  cycleOverruns: 'cycle_overruns_total',
  fetchDuration: 'fetch_duration_seconds',
  fetchErrors: 'fetch_errors_total',
  breakerState: 'breaker_state',
  rateBudgetRemaining: 'rate_budget_remaining',
  barsIngested: 'bars_ingested_total',
  barsRepaired: 'bars_repaired_total',
  barsRejected: 'bars_rejected_total',
  dataAge: 'data_age_seconds',
  dataStale: 'data_stale',
  refreshInterval: 'source_refresh_interval_seconds',
  cacheOperationDuration: 'cache_operation_duration_seconds',
  storeOperationDuration: 'store_operation_duration_seconds',
  pendingWrites: 'pending_writes',
  storeFlushFailures: 'store_flush_failures_total',
  bootstrapChunksFailed: 'bootstrap_chunks_failed_total',
  bootstrapProgress: 'bootstrap_progress_ratio',
  bootstrapDone: 'bootstrap_done',
  signalLatency: 'signal_latency_seconds',
  httpRequests: 'http_requests_total',
  httpRequestDuration: 'http_request_duration_seconds',
  scrapeErrors: 'scrape_errors_total',
  droppedObservations: 'dropped_observations_total',
} as const;
export type MetricKey = keyof typeof METRIC_NAMES;

/** The states `breaker_state` reports, one series each (1 for the current state, else 0). */
export const BREAKER_STATE_LABELS = ['closed', 'open', 'half_open'] as const;
export type BreakerStateLabel = (typeof BREAKER_STATE_LABELS)[number];

/** Rate budget windows reported by `rate_budget_remaining`. */
export const RATE_WINDOWS = { minute: 'minute', day: 'day' } as const;
