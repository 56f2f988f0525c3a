// Programmatic entry of the sidecar (tests, benchmarks, embedding): explicit named re-exports only.
// The command-line entry is src/main.ts.
export {
  loadConfig,
  configSecrets,
  CONFIG_VARIABLES,
  SECRET_VARIABLES,
  SOURCES_NEEDING_KEY,
  LOG_LEVELS,
  LOG_FORMATS,
  type SidecarConfig,
  type ConfigVariable,
  type LogLevel,
  type LogFormat,
} from './wiring/config';
export {
  SIDECAR_ERROR_CODES,
  SidecarError,
  ConfigError,
  UnknownSymbolError,
  AllSourcesFailedError,
  LifecycleError,
  isSidecarError,
  type SidecarErrorCode,
  type ConfigIssue,
  type SourceAttempt,
} from './errors';
export {
  createLogger,
  createRedactor,
  silentLogger,
  type Logger,
  type CreateLoggerOptions,
} from './wiring/logger';
export {
  createCollectionLoop,
  COLLECTION_LOOP_DEFAULTS,
  type CollectionLoop,
  type CollectionLoopOptions,
  type CycleInfo,
} from './pipeline/loop';
export {
  createDefaultStrategy,
  DEFAULT_STRATEGY_OPTIONS,
  DIRECTIONS,
  adjustedConfidence,
  ageSignal,
  type Strategy,
  type StrategyInput,
  type StrategyResult,
  type StoredSignal,
  type Signal,
  type Direction,
  type DefaultStrategyOptions,
  type DefaultStrategyKeys,
} from './strategy/scanner';
export { type SignalHandle } from './strategy/signals';
export {
  createSidecar,
  HEALTH_STATUSES,
  type Sidecar,
  type SidecarDeps,
  type SidecarEvents,
  type SymbolState,
  type CycleReport,
  type HealthReport,
  type ProbeResult,
  type HealthStatus,
  type LiveStreamPort,
} from './sidecar';
export {
  runBootstrap,
  planChunks,
  finestTimeframeFor,
  chunkWindowMs,
  type BootstrapInput,
  type BootstrapProgress,
  type BootstrapReport,
} from './pipeline/bootstrap';
export {
  withFallback,
  fetchLatestWithFallback,
  skipReason,
  forEachLimited,
  type FallbackResult,
  type WithFallbackOptions,
  type FetchLatestOptions,
} from './pipeline/fallback';
export { isStale, type SymbolStates } from './state/symbol-state';
export { healthStatus, type HealthFacts, type Phase } from './state/health';
export { type ReadModel } from './state/read-model';
export { type FetchedInfo } from './pipeline/collect';
export { buildApp, errorBody, API_ERROR_CODES, type ApiView, type BuildAppOptions } from './http/api';
export {
  errorSchema,
  signalSchema,
  barSchema,
  indicatorsSchema,
  symbolParams,
  statusSchema,
  healthResponseSchema,
  signalsResponseSchema,
  barsQuerySchema,
  barsResponseSchema,
  featuresResponseSchema,
} from './http/schemas';
export { createService, type Service, type ServiceOptions } from './wiring/service';
export { createIndicatorFeatures, DEFAULT_FEATURE_NAMES } from './strategy/features';
export { createSources, createPolygonLiveStream } from './wiring/sources';
export {
  createSymbolPort,
  createMapperFromConfig,
  createBreakerFromConfig,
  createCacheFromConfig,
  createStoreFromConfig,
  createValidatorFromConfig,
  createMetricsFromConfig,
} from './wiring/wiring';
export {
  validateHistory,
  type BarCachePort,
  type BarStorePort,
  type BreakerPort,
  type BreakerState,
  type FeatureEnginePort,
  type FeatureValues,
  type MetricsPort,
  type SourceSlot,
  type SymbolPort,
  type ValidatorPort,
  type HistoryGap,
  type SeriesQuery,
} from './ports';
export {
  type ClusterDeps,
  type ClusterHealth,
  type ClusterMirrorCache,
  type ClusterStage,
  type ClusterView,
} from './cluster/stage';
export { type ClusterCoordinator, type LeaseInfo, type MemberInfo } from './cluster/coordinator';
export { createClusterFromConfig, createPgHistoryFromConfig, withSharedBudget } from './cluster/wiring';
