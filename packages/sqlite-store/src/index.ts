// Public entry of @pipeline/sqlite-store: explicit named re-exports only.
export {
  SqliteStore,
  createSqliteStore,
  type FlushEvent,
  type WriteResult,
  type SqliteStoreStats,
} from './sqlite-store';
export { type Gap, type SeriesCoverage, type PruneResult } from './bar-queries';
export { type RangeQuery } from './arguments';
export { CSV_HEADER } from './csv-export';
export {
  SQLITE_STORE_DEFAULTS,
  WRITE_MODES,
  ALLOWED_PRAGMAS,
  type SqliteStoreOptions,
  type ResolvedSqliteStoreOptions,
  type WriteMode,
  type PragmaName,
} from './options';
export {
  SqliteStoreError,
  isSqliteStoreError,
  SQLITE_STORE_ERROR_CODES,
  type SqliteStoreErrorCode,
  type SqliteStoreErrorData,
} from './errors';
export {
  CALENDAR_NAMES,
  alwaysOpenCalendar,
  fxCalendar,
  createUsEquityCalendar,
  resolveCalendar,
  expectedBarTimes,
  type CalendarName,
  type CalendarSpec,
  type CalendarFunction,
  type SessionWindow,
  type UsEquityCalendarOptions,
} from './calendar';
export { MIGRATIONS, SCHEMA_VERSION } from './schema';
export { type StoreSubscription } from './events';
export { createSqliteHistoryStore, type SqliteHistoryStore } from './history-store';
export {
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
