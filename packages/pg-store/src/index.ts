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
