import { type Bar } from '@pipeline/core';
import { ATR, BollingerBands, EMA, MACD, RSI } from '@pipeline/features';
import { type FeatureEnginePort, type FeatureValues } from './ports';

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

interface SymbolIndicators {
  lastTs: number;
  ema12: EMA;
  ema26: EMA;
  rsi14: RSI;
  macd: MACD;
  bb: BollingerBands;
  atr14: ATR;
  values: FeatureValues | null;
}

/**
 * One set of @pipeline/features indicators per symbol, fed bar by bar: a bar with the ts of the
 * last one is a `replace` (the forming bar), a newer one an `add`, an older one is ignored so
 * nothing is counted twice at the bootstrap/live seam. O(1) per bar.
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
        s = {
          lastTs: -Infinity,
          ema12: new EMA({ period: 12 }),
          ema26: new EMA({ period: 26 }),
          rsi14: new RSI({ period: 14 }),
          macd: new MACD(),
          bb: new BollingerBands(),
          atr14: new ATR({ period: 14 }),
          values: null,
        };
        bySymbol.set(bar.symbol, s);
      }
      if (bar.ts < s.lastTs) return s.values ?? {};
      const replace = bar.ts === s.lastTs;
      s.lastTs = bar.ts;
      s.ema12.update(bar.close, replace);
      s.ema26.update(bar.close, replace);
      s.rsi14.update(bar.close, replace);
      s.macd.update(bar.close, replace);
      s.bb.update(bar.close, replace);
      s.atr14.update(bar, replace);
      const m = s.macd.getResult();
      const b = s.bb.getResult();
      s.values = Object.freeze({
        ema12: s.ema12.getResult(),
        ema26: s.ema26.getResult(),
        rsi14: s.rsi14.getResult(),
        macd: m ? m.macd : null,
        macd_signal: m ? m.signal : null,
        macd_hist: m ? m.histogram : null,
        bb_upper: b ? b.upper : null,
        bb_middle: b ? b.middle : null,
        bb_lower: b ? b.lower : null,
        atr14: s.atr14.getResult(),
      });
      return s.values;
    },
    latest(symbol: string): FeatureValues | null {
      return bySymbol.get(symbol)?.values ?? null;
    },
  };
}
