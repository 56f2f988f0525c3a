// Public entry of @pipeline/breaker: explicit named re-exports only.
export {
  createBreakerRegistry,
  countsAgainstBreaker,
  isRetryableError,
  type BreakerRegistry,
  type Disposable,
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
export { redactMessage } from './redact';
