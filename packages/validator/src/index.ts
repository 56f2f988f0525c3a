// Public entry of @pipeline/validator: explicit named re-exports only.
export {
  RULES,
  RULE_ORDER,
  RULE_BITS,
  rulesInMask,
  SEVERITIES,
  STATUSES,
  STATUS_CODES,
  type RuleName,
  type Severity,
  type ValidationStatus,
  type StatusCode,
  type Issue,
} from './rules';
export {
  RULE_DEFAULTS,
  VALIDATOR_DEFAULTS,
  SPIKE_ACTIONS,
  type SpikeAction,
  type ValidatorOptions,
  type ResolvedValidatorOptions,
  type RuleConfigs,
  type RuleOverrides,
  type BaseRuleConfig,
  type PenaltyRuleConfig,
  type OhlcRuleConfig,
  type VolumeRuleConfig,
  type FutureRuleConfig,
  type DuplicateRuleConfig,
  type SpikeRuleConfig,
  type StaleRuleConfig,
  type FlatlineRuleConfig,
  type DisagreementRuleConfig,
} from './options';
export { qualityOf } from './check';
export {
  createValidator,
  type Validator,
  type ValidationResult,
  type ValidateContext,
  type BarColumns,
  type SeriesOptions,
  type SeriesResult,
  type SeriesRepair,
  type RuleCounter,
  type ValidatorCounters,
  type IssueEvent,
  type Disposable,
  type Staleness,
} from './validator';
export {
  VALIDATOR_ERROR_CODES,
  type ValidatorErrorCode,
  SeriesShapeError,
  isSeriesShapeError,
} from './errors';
// The core types and values this package's API takes and returns, so a user needs only
// @pipeline/validator in package.json (strict pnpm hides transitive dependencies).
export {
  ManualClock,
  systemClock,
  TIMEFRAMES,
  isTimeframe,
  isPipelineError,
  OptionsError,
  type Bar,
  type Timeframe,
  type SourceName,
  type Clock,
} from '@pipeline/core';
