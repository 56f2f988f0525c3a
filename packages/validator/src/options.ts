import { OptionsError, assertNumberOption, resolveOptions, systemClock, type Clock } from '@pipeline/core';
import { RULE_ORDER, type RuleName } from './rules';

/** Settings every rule has. */
export interface BaseRuleConfig {
  /**
   * Whether the rule runs.
   * @default true
   */
  enabled: boolean;
}

/** Settings of a rule that can keep a bar while lowering its quality. */
export interface PenaltyRuleConfig extends BaseRuleConfig {
  /**
   * Quality lost when the rule repairs or flags a bar: the score is multiplied by `1 - penalty` (0..1).
   */
  penalty: number;
}

export interface OhlcRuleConfig extends PenaltyRuleConfig {
  /**
   * Repair small violations by widening high/low to contain open/close.
   * @default true
   */
  repair: boolean;
  /**
   * Largest violation repaired, relative to the close (fraction; 0.001 = 10 basis points). Larger ones reject.
   * @default 0.001
   */
  repairTolerance: number;
  /** @default 0.1 */
  penalty: number;
}

export interface VolumeRuleConfig extends PenaltyRuleConfig {
  /**
   * A missing volume (null, undefined, NaN) becomes 0, the bar model's "source has none". When false it rejects.
   * @default true
   */
  repairMissing: boolean;
  /** @default 0.05 */
  penalty: number;
}

export interface FutureRuleConfig extends BaseRuleConfig {
  /**
   * How far a bar's open time may lie beyond the clock's now, for clock skew (milliseconds).
   * @default 5000
   */
  toleranceMs: number;
}

export interface DuplicateRuleConfig extends PenaltyRuleConfig {
  /** Quality lost by a final bar that revises an earlier final bar with the same ts. @default 0.1 */
  penalty: number;
}

/** What the spike rule does with a spike. */
export const SPIKE_ACTIONS = { flag: 'flag', reject: 'reject' } as const;
export type SpikeAction = (typeof SPIKE_ACTIONS)[keyof typeof SPIKE_ACTIONS];

export interface SpikeRuleConfig extends PenaltyRuleConfig {
  /**
   * Threshold in rolling standard deviations of the close-to-close log return.
   * @default 6
   */
  k: number;
  /**
   * Returns kept for the rolling sigma (count).
   * @default 50
   */
  window: number;
  /**
   * Returns needed before the rule judges anything (count, <= window).
   * @default 20
   */
  minHistory: number;
  /**
   * Floor of sigma (log-return units; 1e-4 = 1 basis point), so a flat quiet stretch does not make every tick a spike.
   * @default 0.0001
   */
  minSigma: number;
  /**
   * `flag`: keep the bar with a warning and lower quality; `reject`: drop it.
   * @default 'flag'
   */
  action: SpikeAction;
  /** @default 0.5 */
  penalty: number;
}

export interface StaleRuleConfig extends PenaltyRuleConfig {
  /**
   * A forming bar is stale when its period ended more than this long ago (milliseconds; ARCHITECTURE `STALE_AFTER`).
   * Also the threshold of `validator.staleness()`.
   * @default 10000
   */
  staleAfterMs: number;
  /** @default 0.5 */
  penalty: number;
}

export interface FlatlineRuleConfig extends PenaltyRuleConfig {
  /**
   * Consecutive updates of one series with an unchanged close before bars are flagged (count).
   * @default 60
   */
  maxUnchangedUpdates: number;
  /** @default 0.3 */
  penalty: number;
}

export interface DisagreementRuleConfig extends PenaltyRuleConfig {
  /**
   * Largest relative difference of any of open/high/low/close against the reference bar (fraction; 0.002 = 20 bp).
   * @default 0.002
   */
  tolerance: number;
  /** @default 0.4 */
  penalty: number;
}

/** Settings of every rule. */
export interface RuleConfigs {
  schema: BaseRuleConfig;
  nonFinite: BaseRuleConfig;
  nonPositive: BaseRuleConfig;
  ohlc: OhlcRuleConfig;
  volume: VolumeRuleConfig;
  misaligned: BaseRuleConfig;
  future: FutureRuleConfig;
  order: BaseRuleConfig;
  duplicate: DuplicateRuleConfig;
  spike: SpikeRuleConfig;
  stale: StaleRuleConfig;
  flatline: FlatlineRuleConfig;
  disagreement: DisagreementRuleConfig;
}

/** Per-rule overrides: any subset of rules, any subset of their fields. */
export type RuleOverrides = { [R in RuleName]?: Partial<RuleConfigs[R]> };

/** Options of {@link createValidator}. */
export interface ValidatorOptions {
  /**
   * Where "now" comes from (future and stale checks, `staleness()`).
   * @default systemClock
   */
  clock: Clock;
  /**
   * Rule settings merged over {@link RULE_DEFAULTS}, e.g. `{ spike: { k: 8 }, flatline: { enabled: false } }`.
   * @default {}
   */
  rules: RuleOverrides;
  /**
   * Most (symbol, timeframe) series whose state is kept (count); the least recently used is forgotten beyond it.
   * Each costs about `spike.window * 8` bytes plus ~200 bytes.
   * @default 10000
   */
  maxSeries: number;
}

const on = { enabled: true } as const;

/** Default settings of every rule. */
export const RULE_DEFAULTS: Readonly<RuleConfigs> = Object.freeze({
  schema: Object.freeze({ ...on }),
  nonFinite: Object.freeze({ ...on }),
  nonPositive: Object.freeze({ ...on }),
  ohlc: Object.freeze({ ...on, repair: true, repairTolerance: 0.001, penalty: 0.1 }),
  volume: Object.freeze({ ...on, repairMissing: true, penalty: 0.05 }),
  misaligned: Object.freeze({ ...on }),
  future: Object.freeze({ ...on, toleranceMs: 5_000 }),
  order: Object.freeze({ ...on }),
  duplicate: Object.freeze({ ...on, penalty: 0.1 }),
  spike: Object.freeze({
    ...on,
    k: 6,
    window: 50,
    minHistory: 20,
    minSigma: 1e-4,
    action: SPIKE_ACTIONS.flag,
    penalty: 0.5,
  }),
  stale: Object.freeze({ ...on, staleAfterMs: 10_000, penalty: 0.5 }),
  flatline: Object.freeze({ ...on, maxUnchangedUpdates: 60, penalty: 0.3 }),
  disagreement: Object.freeze({ ...on, tolerance: 0.002, penalty: 0.4 }),
});

/** Defaults of {@link ValidatorOptions}. */
export const VALIDATOR_DEFAULTS: Readonly<ValidatorOptions> = Object.freeze({
  clock: systemClock,
  rules: Object.freeze({}),
  maxSeries: 10_000,
});

export interface ResolvedValidatorOptions {
  readonly clock: Clock;
  readonly rules: Readonly<RuleConfigs>;
  readonly maxSeries: number;
}

const COMPONENT = 'createValidator';

function assertBoolean(name: string, value: unknown): void {
  if (typeof value !== 'boolean') {
    throw new OptionsError(`${COMPONENT}: option "${name}" must be a boolean, got ${JSON.stringify(value)}`);
  }
}

/** Merges and checks options; every problem throws an {@link OptionsError} quoting the bad value. */
export function resolveValidatorOptions(options?: Partial<ValidatorOptions>): ResolvedValidatorOptions {
  const top = resolveOptions(COMPONENT, VALIDATOR_DEFAULTS, options);
  if (typeof top.clock?.now !== 'function') {
    throw new OptionsError(`${COMPONENT}: option "clock" must have a now() method, got ${typeof top.clock}`);
  }
  assertNumberOption(COMPONENT, 'maxSeries', top.maxSeries, 1);
  if (typeof top.rules !== 'object' || top.rules === null) {
    throw new OptionsError(
      `${COMPONENT}: option "rules" must be an object, got ${JSON.stringify(top.rules)}`,
    );
  }
  const rules = {} as Record<RuleName, object>;
  for (const name of Object.keys(top.rules)) {
    if (!(RULE_ORDER as readonly string[]).includes(name)) {
      throw new OptionsError(
        `${COMPONENT}: unknown rule "${name}" in option "rules"; known rules: ${RULE_ORDER.join(', ')}`,
      );
    }
  }
  for (const name of RULE_ORDER) {
    const merged = resolveOptions(
      `${COMPONENT} rules.${name}`,
      RULE_DEFAULTS[name] as unknown as Record<string, unknown>,
      (top.rules as Record<string, Record<string, unknown> | undefined>)[name],
    );
    for (const [key, value] of Object.entries(merged)) {
      const path = `rules.${name}.${key}`;
      if (key === 'enabled' || key === 'repair' || key === 'repairMissing') assertBoolean(path, value);
      else if (key === 'penalty' || key === 'repairTolerance' || key === 'tolerance')
        assertNumberOption(COMPONENT, path, value, 0, 1);
      else if (key === 'action') {
        if (value !== SPIKE_ACTIONS.flag && value !== SPIKE_ACTIONS.reject) {
          throw new OptionsError(
            `${COMPONENT}: option "${path}" must be "flag" or "reject", got ${JSON.stringify(value)}`,
          );
        }
      } else if (key === 'k' || key === 'minSigma')
        assertNumberOption(COMPONENT, path, value, Number.MIN_VALUE);
      else if (key === 'window' || key === 'minHistory' || key === 'maxUnchangedUpdates') {
        assertNumberOption(COMPONENT, path, value, 1, 1_000_000);
        if (!Number.isInteger(value))
          throw new OptionsError(`${COMPONENT}: option "${path}" must be an integer, got ${String(value)}`);
      } else assertNumberOption(COMPONENT, path, value, 0);
    }
    rules[name] = merged;
  }
  const spike = rules.spike as SpikeRuleConfig;
  if (spike.minHistory > spike.window) {
    throw new OptionsError(
      `${COMPONENT}: option "rules.spike.minHistory" (${spike.minHistory}) must not exceed "rules.spike.window" (${spike.window})`,
    );
  }
  return Object.freeze({
    clock: top.clock,
    rules: Object.freeze(rules) as unknown as RuleConfigs,
    maxSeries: top.maxSeries,
  });
}
