// Maps a reference case id to our batch functions, so the reference suites and the accuracy check
// in the benchmark compute exactly the same thing.
import {
  adxBatch,
  atrBatch,
  bollingerBatch,
  emaBatch,
  macdBatch,
  obvBatch,
  rsiBatch,
  smaBatch,
  stdDevBatch,
  stochasticBatch,
} from '../src';
import { type Columns } from './series';

export function computeCase(fn: string, p: Record<string, number>, s: Columns): Record<string, Float64Array> {
  switch (fn) {
    case 'SMA':
      return { value: smaBatch(s.close, { period: p.optInTimePeriod }) };
    case 'EMA':
      return { value: emaBatch(s.close, { period: p.optInTimePeriod }) };
    case 'RSI':
      return { value: rsiBatch(s.close, { period: p.optInTimePeriod }) };
    case 'MACD': {
      const r = macdBatch(s.close, {
        fast: p.optInFastPeriod,
        slow: p.optInSlowPeriod,
        signal: p.optInSignalPeriod,
      });
      return { macd: r.macd, signal: r.signal, histogram: r.histogram };
    }
    case 'BBANDS': {
      const r = bollingerBatch(s.close, { period: p.optInTimePeriod, stdDev: p.optInNbDevUp });
      return { upper: r.upper, middle: r.middle, lower: r.lower };
    }
    case 'STDDEV':
      return { value: stdDevBatch(s.close, { period: p.optInTimePeriod, multiplier: p.optInNbDev }) };
    case 'ATR':
      return { value: atrBatch(s.high, s.low, s.close, { period: p.optInTimePeriod }) };
    case 'ADX':
      return { value: adxBatch(s.high, s.low, s.close, { period: p.optInTimePeriod }).adx };
    case 'PLUS_DI':
      return { value: adxBatch(s.high, s.low, s.close, { period: p.optInTimePeriod }).plusDI };
    case 'MINUS_DI':
      return { value: adxBatch(s.high, s.low, s.close, { period: p.optInTimePeriod }).minusDI };
    case 'STOCH': {
      const r = stochasticBatch(s.high, s.low, s.close, {
        kPeriod: p.optInFastK_Period,
        kSlowing: p.optInSlowK_Period,
        dPeriod: p.optInSlowD_Period,
      });
      return { k: r.k, d: r.d };
    }
    case 'OBV':
      return { value: obvBatch(s.close, s.volume) };
    default:
      throw new Error(`no mapping for TA-Lib function ${fn}`);
  }
}

/** Index of the first non-NaN value, or -1. */
export function firstValid(a: Float64Array): number {
  for (let i = 0; i < a.length; i++) if (!Number.isNaN(a[i])) return i;
  return -1;
}

/** Largest |ours - theirs| over indices where theirs is defined; NaN in ours there counts as Infinity. */
export function maxAbsDiff(ours: Float64Array, theirs: Float64Array, from = 0): number {
  let worst = 0;
  for (let i = from; i < theirs.length; i++) {
    const t = theirs[i]!;
    if (Number.isNaN(t)) continue;
    const d = Math.abs(ours[i]! - t);
    if (!(d <= worst)) worst = Number.isNaN(d) ? Infinity : d;
  }
  return worst;
}
