// Public entry of @pipeline/metrics: explicit named re-exports only.
export {
  createPipelineMetrics,
  METRIC_NAMES,
  BREAKER_STATE_LABELS,
  RATE_WINDOWS,
  type PipelineMetrics,
  type MetricKey,
  type BreakerStateLabel,
  type ScrapeSnapshot,
  type BootstrapSnapshot,
  type ScrapeProvider,
  type Disposable,
  type LabelValues,
  type CounterHandle,
  type PlainCounterHandle,
  type HistogramHandle,
  type PlainHistogramHandle,
} from './metrics';
export {
  DEFAULT_PIPELINE_METRICS_OPTIONS,
  DEFAULT_METRIC_BUCKETS,
  RESERVED_LABEL_NAMES,
  type PipelineMetricsOptions,
  type ResolvedPipelineMetricsOptions,
  type MetricBuckets,
} from './options';
export { METRICS_ERROR_CODES, MetricsError, isMetricsError, type MetricsErrorCode } from './errors';
export {
  sanitizeLabelValue,
  closedLabelValue,
  MAX_LABEL_VALUE_LENGTH,
  REDACTED_LABEL_VALUE,
} from './sanitize';
export { lintMetricsText, METRICS_LINT_RULES, type MetricsLintIssue, type MetricsLintRule } from './lint';
// The core types and values this package's API takes and returns, so a user needs only
// @pipeline/metrics in package.json (strict pnpm hides transitive dependencies).
export {
  systemClock,
  ManualClock,
  isPipelineError,
  SOURCE_NAMES,
  FETCH_ERROR_KINDS,
  type Clock,
  type RateBudgetSnapshot,
  type SourceName,
  type FetchErrorKind,
  type Fetcher,
  type HistoryStore,
  type Bar,
  type Timeframe,
} from '@pipeline/core';
