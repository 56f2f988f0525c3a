/**
 * Batch API over typed arrays, for history. Every function runs the same kernel as the incremental
 * class (one implementation of each formula, so batch and incremental cannot drift apart) in a tight
 * loop that allocates only the outputs. Outputs have the input's length and hold NaN before the first
 * valid index (the indicator's `lookback`).
 */
import { ADX, type ADXOptions } from './indicators/adx';
import { ATR, type ATROptions } from './indicators/atr';
import { BollingerBands, type BollingerBandsOptions } from './indicators/bollinger';
import { EMA, type EMAOptions } from './indicators/ema';
import { MACD, type MACDOptions } from './indicators/macd';
import { OBV } from './indicators/obv';
import { RSI, type RSIOptions } from './indicators/rsi';
import { SMA, type SMAOptions } from './indicators/sma';
import { StdDev, type StdDevOptions } from './indicators/stddev';
import { Stochastic, type StochasticOptions } from './indicators/stochastic';
import { VWAP, type VWAPOptions } from './indicators/vwap';

/** A column of numbers: a Float64Array (fastest) or any array-like. */
export type Series = ArrayLike<number>;

function out(n: number): Float64Array {
  return new Float64Array(n).fill(NaN);
}

function single(ind: SMA | EMA | RSI | StdDev, values: Series): Float64Array {
  const n = values.length;
  const res = out(n);
  const lb = ind.lookback;
  for (let i = 0; i < n; i++) {
    ind.add(values[i]);
    if (i >= lb) res[i] = ind.getResult() ?? NaN;
  }
  return res;
}

export function smaBatch(values: Series, options?: Partial<SMAOptions>): Float64Array {
  return single(new SMA(options), values);
}

export function emaBatch(values: Series, options?: Partial<EMAOptions>): Float64Array {
  return single(new EMA(options), values);
}

export function rsiBatch(values: Series, options?: Partial<RSIOptions>): Float64Array {
  return single(new RSI(options), values);
}

export function stdDevBatch(values: Series, options?: Partial<StdDevOptions>): Float64Array {
  return single(new StdDev(options), values);
}

export interface MACDBatchResult {
  macd: Float64Array;
  signal: Float64Array;
  histogram: Float64Array;
}

export function macdBatch(values: Series, options?: Partial<MACDOptions>): MACDBatchResult {
  const ind = new MACD(options);
  const n = values.length;
  const macd = out(n);
  const signal = out(n);
  const histogram = out(n);
  const lb = ind.lookback;
  for (let i = 0; i < n; i++) {
    ind.add(values[i]);
    if (i >= lb) {
      const r = ind.getResult();
      if (r !== null) {
        macd[i] = r.macd;
        signal[i] = r.signal;
        histogram[i] = r.histogram;
      }
    }
  }
  return { macd, signal, histogram };
}

export interface BollingerBatchResult {
  upper: Float64Array;
  middle: Float64Array;
  lower: Float64Array;
}

export function bollingerBatch(values: Series, options?: Partial<BollingerBandsOptions>): BollingerBatchResult {
  const ind = new BollingerBands(options);
  const n = values.length;
  const upper = out(n);
  const middle = out(n);
  const lower = out(n);
  const lb = ind.lookback;
  for (let i = 0; i < n; i++) {
    ind.add(values[i]);
    if (i >= lb) {
      const r = ind.getResult();
      if (r !== null) {
        upper[i] = r.upper;
        middle[i] = r.middle;
        lower[i] = r.lower;
      }
    }
  }
  return { upper, middle, lower };
}

export function atrBatch(high: Series, low: Series, close: Series, options?: Partial<ATROptions>): Float64Array {
  const ind = new ATR(options);
  const n = close.length;
  const res = out(n);
  const lb = ind.lookback;
  for (let i = 0; i < n; i++) {
    ind.addValues(high[i], low[i], close[i]);
    if (i >= lb) res[i] = ind.getResult() ?? NaN;
  }
  return res;
}

export interface ADXBatchResult {
  /** Valid from index `2 * period - 1`. */
  adx: Float64Array;
  /** Valid from index `period`. */
  plusDI: Float64Array;
  /** Valid from index `period`. */
  minusDI: Float64Array;
}

export function adxBatch(high: Series, low: Series, close: Series, options?: Partial<ADXOptions>): ADXBatchResult {
  const ind = new ADX(options);
  const n = close.length;
  const adx = out(n);
  const plusDI = out(n);
  const minusDI = out(n);
  const p = ind.period;
  for (let i = 0; i < n; i++) {
    ind.addValues(high[i], low[i], close[i]);
    if (i >= p) {
      const r = ind.getDI();
      if (r !== null) {
        adx[i] = r.adx;
        plusDI[i] = r.plusDI;
        minusDI[i] = r.minusDI;
      }
    }
  }
  return { adx, plusDI, minusDI };
}

export interface StochasticBatchResult {
  k: Float64Array;
  d: Float64Array;
}

export function stochasticBatch(
  high: Series,
  low: Series,
  close: Series,
  options?: Partial<StochasticOptions>,
): StochasticBatchResult {
  const ind = new Stochastic(options);
  const n = close.length;
  const k = out(n);
  const d = out(n);
  const lb = ind.lookback;
  for (let i = 0; i < n; i++) {
    ind.addValues(high[i], low[i], close[i]);
    if (i >= lb) {
      const r = ind.getResult();
      if (r !== null) {
        k[i] = r.k;
        d[i] = r.d;
      }
    }
  }
  return { k, d };
}

export function obvBatch(close: Series, volume: Series): Float64Array {
  const ind = new OBV();
  const n = close.length;
  const res = out(n);
  for (let i = 0; i < n; i++) {
    ind.addValues(close[i], volume[i]);
    res[i] = ind.getResult() ?? NaN;
  }
  return res;
}

export function vwapBatch(
  ts: Series,
  high: Series,
  low: Series,
  close: Series,
  volume: Series,
  options?: Partial<VWAPOptions>,
): Float64Array {
  const ind = new VWAP(options);
  const n = close.length;
  const res = out(n);
  for (let i = 0; i < n; i++) {
    ind.addValues(ts[i], high[i], low[i], close[i], volume[i]);
    res[i] = ind.getResult() ?? NaN;
  }
  return res;
}
