// Public entry of @pipeline/features: explicit named re-exports only.
export {
  FEATURES_ERROR_CODES,
  type FeaturesErrorCode,
  FeaturesError,
  NotStableError,
  SnapshotError,
  isFeaturesError,
} from './errors';
export { type Indicator, type IndicatorSnapshot, SNAPSHOT_VERSION } from './indicators/base';
export { type HLC, type CloseVolume, type VWAPInput } from './indicators/inputs';
export { MAX_PERIOD } from './options';
export { SMA, type SMAOptions, SMA_DEFAULTS } from './indicators/sma';
export { EMA, type EMAOptions, EMA_DEFAULTS } from './indicators/ema';
export { RSI, type RSIOptions, RSI_DEFAULTS } from './indicators/rsi';
export { MACD, type MACDOptions, type MACDResult, MACD_DEFAULTS } from './indicators/macd';
export {
  BollingerBands,
  type BollingerBandsOptions,
  type BollingerBandsResult,
  type BollingerMode,
  BOLLINGER_MODES,
  BOLLINGER_DEFAULTS,
} from './indicators/bollinger';
export { ATR, type ATROptions, ATR_DEFAULTS } from './indicators/atr';
export { ADX, type ADXOptions, type ADXResult, ADX_DEFAULTS } from './indicators/adx';
export {
  Stochastic,
  type StochasticOptions,
  type StochasticResult,
  STOCHASTIC_DEFAULTS,
} from './indicators/stochastic';
export { OBV, type OBVOptions, OBV_DEFAULTS } from './indicators/obv';
export { VWAP, type VWAPOptions, VWAP_DEFAULTS } from './indicators/vwap';
export { StdDev, type StdDevOptions, STDDEV_DEFAULTS } from './indicators/stddev';
export {
  type Series,
  smaBatch,
  emaBatch,
  rsiBatch,
  stdDevBatch,
  macdBatch,
  type MACDBatchResult,
  bollingerBatch,
  type BollingerBatchResult,
  atrBatch,
  adxBatch,
  type ADXBatchResult,
  stochasticBatch,
  type StochasticBatchResult,
  obvBatch,
  vwapBatch,
} from './batch';
export {
  INDICATOR_KINDS,
  type IndicatorKind,
  PRICE_SOURCES,
  type PriceSource,
  type IndicatorSpec,
  type FeatureSetSpec,
  DEFAULT_FEATURE_SET,
  FEATURE_OUTPUT_SUFFIXES,
  type FlatFeatureValues,
  featureKeys,
  flattenFeatureValues,
  type FeatureBar,
  type FeatureValue,
  type FeatureValues,
  type IndicatorSetSnapshot,
  IndicatorSet,
  createIndicatorSet,
} from './feature-set';
export { Resampler, type ResamplerState } from './resampler';
export {
  FeatureEngine,
  type FeatureEngineOptions,
  FEATURE_ENGINE_DEFAULTS,
  UPDATE_OUTCOMES,
  type UpdateOutcome,
  REJECT_REASONS,
  type RejectReason,
  type RejectedBar,
  type TimeframeFeatures,
  type FeatureSet,
  type SymbolSnapshot,
  type FeatureEngineStats,
  createFeatureEngine,
} from './engine';
// The core types and values this package's API takes and returns, so a user needs only
// @pipeline/features in package.json (strict pnpm hides transitive dependencies).
export {
  ManualClock,
  systemClock,
  TIMEFRAMES,
  isTimeframe,
  isPipelineError,
  OptionsError,
  type Bar,
  type Timeframe,
  type Clock,
} from '@pipeline/core';
