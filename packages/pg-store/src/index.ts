// Public entry of @pipeline/pg-store: explicit named re-exports only.
export {
  PgStore,
  createPgStore,
  choosePartitioning,
  isConnectionError,
  type PgFlushEvent,
  type PgStoreStats,
  type PgPruneResult,
  type BackfillMethod,
} from './pg-store';
export {
  PG_STORE_DEFAULTS,
  PG_CALENDARS,
  PARTITIONING_MODES,
  type PgStoreOptions,
  type ResolvedPgStoreOptions,
  type PartitioningMode,
} from './options';
export {
  PgStoreError,
  isPgStoreError,
  PG_STORE_ERROR_CODES,
  type PgStoreErrorCode,
  type PgStoreErrorData,
} from './errors';
export {
  MIGRATIONS,
  SCHEMA_VERSION,
  TIMESCALE_CHUNK_MS,
  partitionName,
  type Migration,
  type Layout,
} from './schema';
export { redact } from './redact';
// The core types and values this package's API takes and returns, so a user needs only
// @pipeline/pg-store in package.json (strict pnpm hides transitive dependencies).
export {
  TIMEFRAMES,
  isTimeframe,
  isPipelineError,
  OptionsError,
  type Bar,
  type Timeframe,
  type SourceName,
  type Scheduler,
  type HistoryStore,
  type HistoryStoreStats,
  type HistoryStoreHealth,
  type HistoryCalendar,
  type HistoryGap,
  type SeriesQuery,
} from '@pipeline/core';
