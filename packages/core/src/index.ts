// Public entry of @pipeline/core: explicit named re-exports only.
export {
  type Bar,
  type Timeframe,
  type SourceName,
  TIMEFRAMES,
  TIMEFRAME_MS,
  SOURCE_NAMES,
  isTimeframe,
  isSourceName,
  alignTs,
  barKey,
} from './bar';
export { type Clock, type Scheduler, type TimerHandle, systemClock, ManualClock } from './clock';
export { PipelineError, OptionsError, isPipelineError, resolveOptions, assertNumberOption } from './errors';
export {
  FetchError,
  type FetchErrorInit,
  type FetchErrorKind,
  FETCH_ERROR_KINDS,
  isFetchError,
} from './fetch-error';
export {
  type Fetcher,
  type SourceCapabilities,
  type RateBudgetSnapshot,
  type FetchLatestRequest,
  type FetchHistoryRequest,
} from './fetcher';
export { type Disposable } from './disposable';
export {
  type HistoryStore,
  type HistoryStoreStats,
  type HistoryStoreHealth,
  type HistoryCalendar,
  type HistoryGap,
  type SeriesQuery,
} from './history-store';
export {
  type WallFields,
  type WallClock,
  zoneOffsetMs,
  isKnownTimeZone,
  utcToWallMs,
  wallMsToUtc,
  wallMsToUtcCandidates,
  zonedWallClock,
  zonedTimeToUtc,
  zonedTimeToUtcCandidates,
  zonedDayBounds,
  parseLocalDateTime,
} from './timezone';
export {
  CALENDAR_NAMES,
  CALENDAR_BAD_ARGUMENT,
  alwaysOpenCalendar,
  fxCalendar,
  createUsEquityCalendar,
  resolveCalendar,
  isCalendarSpec,
  expectedBarTimes,
  type CalendarName,
  type CalendarSpec,
  type CalendarFunction,
  type SessionWindow,
  type UsEquityCalendarOptions,
} from './calendar';
export {
  REDACTED,
  SECRET_NAMES,
  SECRET_QUERY_PARAMS,
  isSecretName,
  redactText,
  redactUrl,
  redactSecrets,
  redactHeaders,
  redactValue,
  createRedactor,
  containsSecret,
} from './redact';
export {
  Emitter,
  LISTENER_ERROR_WARNING,
  type Listener,
  type Subscribe,
  type ListenerErrorHandler,
} from './events';
export { isRecord } from './guards';
export {
  BAR_TUPLE_FIELDS,
  BAR_TUPLE_WIDTH,
  BAR_TUPLE_INDEX,
  type BarTuple,
  barToTuple,
  writeBarTuple,
  barFromTuple,
} from './bar-tuple';
export { BarBuffer } from './bar-buffer';
export { SeriesLru, type LruSeries } from './series-lru';
export { SequentialMap } from './sequential-map';
export { assertIntegerOptions, assertSchedulerOption, assertTimeframeMsOption } from './store-options';
