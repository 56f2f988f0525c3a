// Public entry of @pipeline/breaker: explicit named re-exports only.
export {
  createBreakerRegistry,
  countsAgainstBreaker,
  isRetryableError,
  type BreakerRegistry,
  type BreakerSource,
  type ErrorSummary,
  type ExecuteOptions,
  type RetryEvent,
  type SavedBreakerState,
  type SavedSourceState,
  type SourceCounts,
  type SourceHealth,
  type StateChangeEvent,
} from './registry';
export {
  DEFAULT_BREAKER_REGISTRY_OPTIONS,
  DEFAULT_CIRCUIT_OPTIONS,
  DEFAULT_RETRY_OPTIONS,
  type BreakerRegistryOptions,
  type CircuitOptions,
  type RetryOptions,
  type ResolvedBreakerRegistryOptions,
} from './options';
export {
  BREAKER_ERROR_CODES,
  BreakerError,
  BreakerOpenError,
  BreakerCoolingDownError,
  BreakerTimeoutError,
  BreakerCancelledError,
  BreakerStateError,
  isBreakerError,
  type BreakerErrorCode,
} from './errors';
export { BREAKER_STATES, JITTER_MODES, isBreakerState, type BreakerState, type JitterMode } from './states';
export { redactMessage, MAX_MESSAGE_LENGTH } from './redact';
export { isBreakerSource } from './types';
// The core types and values this package's API takes and returns, so a user needs only
// @pipeline/breaker in package.json (core is installed with it, but strict pnpm hides it).
export {
  FetchError,
  isFetchError,
  FETCH_ERROR_KINDS,
  SOURCE_NAMES,
  systemClock,
  ManualClock,
  isPipelineError,
  type FetchErrorKind,
  type FetchErrorInit,
  type Bar,
  type Timeframe,
  type SourceName,
  type Clock,
  type Scheduler,
  type TimerHandle,
  type Disposable,
} from '@pipeline/core';
