/**
 * Batch API over typed arrays, for history. Outputs have the input's length and hold NaN before the
 * first valid index (the indicator's `lookback`). The simple indicators have dedicated loops that
 * perform exactly the incremental classes' floating-point operations in the same order (the
 * reference and contract suites check both against TA-Lib and against each other); Stochastic,
 * VWAP and exact-mode Bollinger run the incremental class itself. Unlike the classes, the
 * dedicated loops do not skip non-finite inputs: history is expected to be validated.
 */
import { ADX_DEFAULTS, type ADXOptions } from './indicators/adx';
import { ATR_DEFAULTS, type ATROptions } from './indicators/atr';
import { BollingerBands, type BollingerBandsOptions } from './indicators/bollinger';
import { EMA_DEFAULTS, type EMAOptions } from './indicators/ema';
import { MACD, type MACDOptions } from './indicators/macd';
import { RSI_DEFAULTS, type RSIOptions } from './indicators/rsi';
import { SMA_DEFAULTS, type SMAOptions } from './indicators/sma';
import { StdDev, type StdDevOptions } from './indicators/stddev';
import { Stochastic, type StochasticOptions } from './indicators/stochastic';
import { VWAP, type VWAPOptions } from './indicators/vwap';

/** A column of numbers: a Float64Array (fastest) or any array-like. */
export type Series = ArrayLike<number>;

function out(n: number): Float64Array {
  return new Float64Array(n).fill(NaN);
}

/** An output whose first `lookback` entries are NaN; the kernel writes every later entry itself. */
function outFrom(n: number, lookback: number): Float64Array {
  return new Float64Array(n).fill(NaN, 0, Math.min(lookback, n));
}

import { TA_EPSILON } from './indicators/talib';
import { resolvePeriods } from './options';

// Options are resolved through the classes' own validation, so batch and incremental accept the same.
function periodOf(
  component: string,
  defaults: { period: number },
  options: Partial<{ period: number }> | undefined,
  min: number,
): number {
  return resolvePeriods(component, defaults, options, { period: min }).period;
}

export function smaBatch(values: Series, options?: Partial<SMAOptions>): Float64Array {
  const N = periodOf('SMA', SMA_DEFAULTS, options, 1);
  const n = values.length;
  const res = outFrom(n, N - 1);
  const lb = N - 1;
  let total = 0;
  for (let i = 0; i < lb && i < n; i++) total += values[i];
  for (let i = lb; i < n; i++) {
    const s = total + values[i];
    res[i] = s / N;
    total = s - values[i - lb];
  }
  return res;
}

export function emaBatch(values: Series, options?: Partial<EMAOptions>): Float64Array {
  const N = periodOf('EMA', EMA_DEFAULTS, options, 1);
  const n = values.length;
  const res = outFrom(n, N - 1);
  if (n < N) return res;
  const k = 2 / (N + 1);
  let sum = 0;
  for (let i = 0; i < N; i++) sum += values[i];
  let ema = sum / N;
  res[N - 1] = ema;
  for (let i = N; i < n; i++) {
    ema = (values[i] - ema) * k + ema;
    res[i] = ema;
  }
  return res;
}

export function rsiBatch(values: Series, options?: Partial<RSIOptions>): Float64Array {
  const N = periodOf('RSI', RSI_DEFAULTS, options, 2);
  const n = values.length;
  const res = outFrom(n, N);
  if (n <= N) return res;
  const n1 = N - 1;
  let gain = 0;
  let loss = 0;
  let prev = values[0];
  for (let i = 1; i <= N; i++) {
    const x = values[i];
    const d = x - prev;
    prev = x;
    if (d < 0) loss -= d;
    else gain += d;
  }
  gain /= N;
  loss /= N;
  let t = gain + loss;
  res[N] = -TA_EPSILON < t && t < TA_EPSILON ? 0 : 100 * (gain / t);
  for (let i = N + 1; i < n; i++) {
    const x = values[i];
    const d = x - prev;
    prev = x;
    loss *= n1;
    gain *= n1;
    if (d < 0) loss -= d;
    else gain += d;
    loss /= N;
    gain /= N;
    t = gain + loss;
    res[i] = -TA_EPSILON < t && t < TA_EPSILON ? 0 : 100 * (gain / t);
  }
  return res;
}

export function stdDevBatch(values: Series, options?: Partial<StdDevOptions>): Float64Array {
  // Validation (and the multiplier check) through the class; the loop below mirrors StdDev.add.
  const ind = new StdDev(options);
  const N = ind.period;
  const mult = ind.multiplier;
  const n = values.length;
  const res = outFrom(n, N - 1);
  const lb = N - 1;
  let t1 = 0;
  let t2 = 0;
  for (let i = 0; i < lb && i < n; i++) {
    const x = values[i];
    t1 += x;
    t2 += x * x;
  }
  for (let i = lb; i < n; i++) {
    const x = values[i];
    const s1 = t1 + x;
    const s2 = t2 + x * x;
    const m1 = s1 / N;
    const m2 = s2 / N;
    const old = values[i - lb];
    t1 = s1 - old;
    t2 = s2 - old * old;
    const v = m2 - m1 * m1;
    res[i] = v < TA_EPSILON ? 0 : Math.sqrt(v) * mult;
  }
  return res;
}

export interface MACDBatchResult {
  macd: Float64Array;
  signal: Float64Array;
  histogram: Float64Array;
}

export function macdBatch(values: Series, options?: Partial<MACDOptions>): MACDBatchResult {
  const ind = new MACD(options); // validation only; the loop mirrors MACD.add
  const { fast, slow, signal: sp } = ind;
  const n = values.length;
  const macd = out(n);
  const signal = out(n);
  const histogram = out(n);
  const seedAt = slow - 1;
  if (n <= seedAt) return { macd, signal, histogram };
  const kFast = 2 / (fast + 1);
  const kSlow = 2 / (slow + 1);
  const kSig = 2 / (sp + 1);
  let slowSum = 0;
  let fastSum = 0;
  for (let i = 0; i <= seedAt; i++) {
    const x = values[i];
    slowSum += x;
    if (i >= slow - fast) fastSum += x;
  }
  let slowEma = slowSum / slow;
  let fastEma = fastSum / fast;
  let sigSum = 0;
  let sig = NaN;
  for (let i = seedAt; i < n; i++) {
    if (i > seedAt) {
      const x = values[i];
      slowEma = (x - slowEma) * kSlow + slowEma;
      fastEma = (x - fastEma) * kFast + fastEma;
    }
    const m = fastEma - slowEma;
    const j = i - seedAt;
    if (j >= sp) {
      sig = (m - sig) * kSig + sig;
    } else {
      sigSum += m;
      if (j === sp - 1) sig = sigSum / sp;
      else continue;
    }
    macd[i] = m;
    signal[i] = sig;
    histogram[i] = m - sig;
  }
  return { macd, signal, histogram };
}

export interface BollingerBatchResult {
  upper: Float64Array;
  middle: Float64Array;
  lower: Float64Array;
}

export function bollingerBatch(
  values: Series,
  options?: Partial<BollingerBandsOptions>,
): BollingerBatchResult {
  const ind = new BollingerBands(options);
  const n = values.length;
  const lb0 = ind.mode === 'exact' ? n : ind.lookback;
  const upper = outFrom(n, lb0);
  const middle = outFrom(n, lb0);
  const lower = outFrom(n, lb0);
  if (ind.mode === 'exact') {
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
  // TA-Lib mode: mirrors BollingerBands.add + getResult.
  const N = ind.period;
  const k = ind.stdDev;
  const lb = N - 1;
  let t1 = 0;
  let t2 = 0;
  for (let i = 0; i < lb && i < n; i++) {
    const x = values[i];
    t1 += x;
    t2 += x * x;
  }
  for (let i = lb; i < n; i++) {
    const x = values[i];
    const s1 = t1 + x;
    const s2 = t2 + x * x;
    const mid = s1 / N;
    const v = s2 / N - mid * mid;
    const old = values[i - lb];
    t1 = s1 - old;
    t2 = s2 - old * old;
    const t = (v < TA_EPSILON ? 0 : Math.sqrt(v)) * k;
    middle[i] = mid;
    upper[i] = mid + t;
    lower[i] = mid - t;
  }
  return { upper, middle, lower };
}

export function atrBatch(
  high: Series,
  low: Series,
  close: Series,
  options?: Partial<ATROptions>,
): Float64Array {
  const N = periodOf('ATR', ATR_DEFAULTS, options, 1);
  const n = close.length;
  const res = outFrom(n, N);
  if (n <= N) return res;
  const n1 = N - 1;
  let sum = 0;
  let atr = 0;
  for (let i = 1; i < n; i++) {
    const h = high[i];
    const l = low[i];
    const pc = close[i - 1];
    let tr = h - l;
    const a = Math.abs(pc - h);
    if (a > tr) tr = a;
    const b = Math.abs(pc - l);
    if (b > tr) tr = b;
    if (i > N) {
      atr = (atr * n1 + tr) / N;
      res[i] = atr;
    } else {
      sum += tr;
      if (i === N) res[i] = atr = sum / N;
    }
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

export function adxBatch(
  high: Series,
  low: Series,
  close: Series,
  options?: Partial<ADXOptions>,
): ADXBatchResult {
  const N = periodOf('ADX', ADX_DEFAULTS, options, 2);
  const n = close.length;
  const adx = out(n);
  const plusDI = out(n);
  const minusDI = out(n);
  const n1 = N - 1;
  const lb = 2 * N - 1;
  let pDM = 0;
  let mDM = 0;
  let trS = 0;
  let sumDX = 0;
  let a = NaN;
  for (let i = 1; i < n; i++) {
    const h = high[i];
    const l = low[i];
    const diffP = h - high[i - 1];
    const diffM = low[i - 1] - l;
    const pc = close[i - 1];
    let tr = h - l;
    const x = Math.abs(h - pc);
    if (x > tr) tr = x;
    const y = Math.abs(l - pc);
    if (y > tr) tr = y;
    if (i < N) {
      if (diffM > 0 && diffP < diffM) mDM += diffM;
      else if (diffP > 0 && diffP > diffM) pDM += diffP;
      trS += tr;
      continue;
    }
    mDM -= mDM / N;
    pDM -= pDM / N;
    if (diffM > 0 && diffP < diffM) mDM += diffM;
    else if (diffP > 0 && diffP > diffM) pDM += diffP;
    trS = trS - trS / N + tr;
    const zero = -TA_EPSILON < trS && trS < TA_EPSILON;
    const mdi = zero ? 0 : 100 * (mDM / trS);
    const pdi = zero ? 0 : 100 * (pDM / trS);
    plusDI[i] = pdi;
    minusDI[i] = mdi;
    if (!zero) {
      const s = mdi + pdi;
      if (!(-TA_EPSILON < s && s < TA_EPSILON)) {
        const dx = 100 * (Math.abs(mdi - pdi) / s);
        if (i <= lb) sumDX += dx;
        else a = (a * n1 + dx) / N;
      }
    }
    if (i === lb) a = sumDX / N;
    if (i >= lb) adx[i] = a;
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
  const ind = new Stochastic(options); // validation only
  const P = ind.kPeriod;
  const K = ind.kSlowing;
  const D = ind.dPeriod;
  const n = close.length;
  const k = out(n);
  const d = out(n);
  // Window extremes with monotonic deques of indices (amortised O(1)); the extreme values, hence every
  // output, are the same as with the class's rescan method. Capacity P + 1: the window plus the new bar.
  const cap = P + 1;
  const maxQ = new Int32Array(cap);
  const minQ = new Int32Array(cap);
  let maxH = 0;
  let maxN = 0;
  let minH = 0;
  let minN = 0;
  const kb = new Float64Array(K);
  const db = new Float64Array(D);
  let kp = 0;
  let dp = 0;
  let kTotal = 0;
  let dTotal = 0;
  for (let i = 0; i < n; i++) {
    const h = high[i];
    const l = low[i];
    while (maxN > 0 && high[maxQ[(maxH + maxN - 1) % cap]] <= h) maxN--;
    maxQ[(maxH + maxN++) % cap] = i;
    while (minN > 0 && low[minQ[(minH + minN - 1) % cap]] >= l) minN--;
    minQ[(minH + minN++) % cap] = i;
    if (i < P - 1) continue;
    const trailing = i - P + 1;
    while (maxQ[maxH] < trailing) {
      maxH = maxH + 1 === cap ? 0 : maxH + 1;
      maxN--;
    }
    while (minQ[minH] < trailing) {
      minH = minH + 1 === cap ? 0 : minH + 1;
      minN--;
    }
    const hh = high[maxQ[maxH]];
    const ll = low[minQ[minH]];
    const diff = (hh - ll) / 100;
    const fastK = diff !== 0 ? (close[i] - ll) / diff : 0;
    // Slow %K and %D: TA-Lib running-sum SMAs, the same operations as Stochastic.addValues.
    const j = i - (P - 1);
    kb[kp] = fastK;
    if (++kp === K) kp = 0;
    if (j < K - 1) {
      kTotal += fastK;
      continue;
    }
    const ks = kTotal + fastK;
    const slowK = ks / K;
    kTotal = ks - kb[kp];
    const m = j - (K - 1);
    db[dp] = slowK;
    if (++dp === D) dp = 0;
    if (m < D - 1) {
      dTotal += slowK;
      continue;
    }
    const ds = dTotal + slowK;
    k[i] = slowK;
    d[i] = ds / D;
    dTotal = ds - db[dp];
  }
  return { k, d };
}

export function obvBatch(close: Series, volume: Series): Float64Array {
  const n = close.length;
  const res = outFrom(n, 0);
  if (n === 0) return res;
  let obv = volume[0];
  let prev = close[0];
  res[0] = obv;
  for (let i = 1; i < n; i++) {
    const c = close[i];
    if (c > prev) obv += volume[i];
    else if (c < prev) obv -= volume[i];
    prev = c;
    res[i] = obv;
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
    res[i] = ind.valueOrNaN();
  }
  return res;
}
