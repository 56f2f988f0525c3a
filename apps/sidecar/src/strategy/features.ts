import { type Bar } from '@pipeline/core';
import { createIndicatorSet, type FeatureSetSpec, type IndicatorSet } from '@pipeline/features';
import { type FeatureEnginePort, type FeatureValues } from '../ports';

/** The indicators the default strategy reads, by the names it reads them under. */
export const DEFAULT_FEATURE_NAMES = [
  'ema12',
  'ema26',
  'rsi14',
  'macd',
  'macd_signal',
  'macd_hist',
  'bb_upper',
  'bb_middle',
  'bb_lower',
  'atr14',
] as const;

/** The @pipeline/features set behind those names (TA-Lib conventions, see the features README). */
const STRATEGY_SET: FeatureSetSpec = Object.freeze({
  ema12: { kind: 'ema', options: { period: 12 } },
  ema26: { kind: 'ema', options: { period: 26 } },
  rsi14: { kind: 'rsi', options: { period: 14 } },
  macd: { kind: 'macd', options: { fast: 12, slow: 26, signal: 9 } },
  bb: { kind: 'bollinger', options: { period: 20, stdDev: 2 } },
  atr14: { kind: 'atr', options: { period: 14 } },
});

interface SymbolIndicators {
  lastTs: number;
  set: IndicatorSet;
  values: FeatureValues | null;
}

type Num = number | null;
const field = (v: unknown, key: string): Num =>
  v !== null && typeof v === 'object' ? ((v as Record<string, Num>)[key] ?? null) : null;

/**
 * One @pipeline/features indicator set per symbol, fed bar by bar: a bar with the ts of the last
 * one is a `replace` (the forming bar), a newer one an `add`, an older one is ignored so nothing is
 * counted twice at the bootstrap/live seam. O(1) per bar. The values are flattened to the names the
 * strategy and `/features` use (`macd_signal`, `bb_upper`, ...).
 */
export function createIndicatorFeatures(): FeatureEnginePort & { readonly symbols: number } {
  const bySymbol = new Map<string, SymbolIndicators>();
  return {
    get symbols() {
      return bySymbol.size;
    },
    update(bar: Bar): FeatureValues {
      let s = bySymbol.get(bar.symbol);
      if (!s) {
        s = { lastTs: -Infinity, set: createIndicatorSet(STRATEGY_SET), values: null };
        bySymbol.set(bar.symbol, s);
      }
      if (bar.ts < s.lastTs) return s.values ?? {};
      const replace = bar.ts === s.lastTs;
      s.lastTs = bar.ts;
      s.set.update(bar, replace);
      const v = s.set.values();
      s.values = Object.freeze({
        ema12: v.ema12 as Num,
        ema26: v.ema26 as Num,
        rsi14: v.rsi14 as Num,
        macd: field(v.macd, 'macd'),
        macd_signal: field(v.macd, 'signal'),
        macd_hist: field(v.macd, 'histogram'),
        bb_upper: field(v.bb, 'upper'),
        bb_middle: field(v.bb, 'middle'),
        bb_lower: field(v.bb, 'lower'),
        atr14: v.atr14 as Num,
      });
      return s.values;
    },
    latest(symbol: string): FeatureValues | null {
      return bySymbol.get(symbol)?.values ?? null;
    },
  };
}
