// The strategy's indicators, in one place: which @pipeline/features indicators the sidecar computes,
// the keys they are served under (`/features`, signal `indicators`, the hot cache) and which key
// each role of the default strategy reads. The keys are the features package's documented naming
// (`flattenFeatureValues`: a multi-output indicator `macd` becomes `macd`, `macd_signal`,
// `macd_hist`; `bb` becomes `bb_upper`, `bb_middle`, `bb_lower`), so there is no second table.
import { type Bar, type Timeframe } from '@pipeline/core';
import { FeatureEngine, featureKeys, type FeatureSetSpec } from '@pipeline/features';
import { type FeatureEnginePort, type FeatureValues } from '../ports';

/** The @pipeline/features set the default strategy reads (TA-Lib conventions, see the features README). */
export const STRATEGY_FEATURE_SET: FeatureSetSpec = Object.freeze({
  ema12: { kind: 'ema', options: { period: 12 } },
  ema26: { kind: 'ema', options: { period: 26 } },
  rsi14: { kind: 'rsi', options: { period: 14 } },
  macd: { kind: 'macd', options: { fast: 12, slow: 26, signal: 9 } },
  bb: { kind: 'bollinger', options: { period: 20, stdDev: 2 } },
  atr14: { kind: 'atr', options: { period: 14 } },
});

/**
 * The keys the values are served under: `ema12`, `ema26`, `rsi14`, `macd`, `macd_signal`,
 * `macd_hist`, `bb_upper`, `bb_middle`, `bb_lower`, `atr14`.
 */
export const DEFAULT_FEATURE_NAMES: readonly string[] = Object.freeze(featureKeys(STRATEGY_FEATURE_SET));

/** Which served key each role of the default strategy reads. */
export const STRATEGY_KEYS = Object.freeze({
  emaFast: 'ema12',
  emaSlow: 'ema26',
  rsi: 'rsi14',
  macdHistogram: 'macd_hist',
  bbUpper: 'bb_upper',
  bbLower: 'bb_lower',
  atr: 'atr14',
} as const);

export interface IndicatorFeaturesOptions {
  /** Timeframe of the bars fed (TIMEFRAME). @default '1m' */
  timeframe?: Timeframe;
}

/**
 * The strategy set per symbol, kept by @pipeline/features' `FeatureEngine` (its add/replace rule: a
 * bar with the ts of the last one replaces the forming bar, a newer one is added, an older one is
 * ignored so nothing is counted twice at the bootstrap/live seam). O(1) per bar; the values are
 * read under {@link DEFAULT_FEATURE_NAMES} (`FeatureEngine.values`).
 */
export function createIndicatorFeatures(
  options: IndicatorFeaturesOptions = {},
): FeatureEnginePort & { readonly symbols: number } {
  const engine = new FeatureEngine({
    features: STRATEGY_FEATURE_SET,
    baseTimeframe: options.timeframe ?? '1m',
    timeframes: [],
    // The sidecar reads values right after each update: no read cache.
    cacheTtlMs: 0,
  });
  // The engine keeps each symbol's latest record itself (`updateValues`/`latestValues`): one symbol
  // lookup per bar, no second map here.
  return {
    // A symbol's state is made by its first accepted bar (the engine rejects a non-finite or
    // other-timeframe bar before it looks the symbol up), so this counts the symbols with values.
    get symbols() {
      return engine.stats().symbols;
    },
    update(bar: Bar): FeatureValues {
      // The flat keys read straight from the indicators (no FeatureSet wrappers per bar), frozen: a
      // signal keeps them, and builds its reasons from them when read.
      const values = engine.updateValues(bar);
      if (values !== null) return values;
      return engine.latestValues(bar.symbol) ?? {};
    },
    latest(symbol: string): FeatureValues | null {
      return engine.latestValues(symbol);
    },
  };
}
