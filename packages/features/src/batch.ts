/**
 * Batch API over typed arrays, for history. Outputs have the input's length and hold NaN before the
 * first valid index (the indicator's `lookback`). Every indicator has a dedicated loop (one pass;
 * Stochastic three, as TA-Lib) that performs exactly the incremental class's floating-point operations
 * in the same order (the reference and contract suites check both against TA-Lib and against each
 * other); only exact-mode Bollinger runs the class itself. Unlike the classes, the loops (VWAP's aside) do not skip non-finite
 * inputs: history is expected to be validated.
 *
 * Every function takes an optional last argument `into`: output Float64Arrays of the input's length
 * to write into instead of allocating. A fresh 100,000-bar output costs about 1-5 ns per bar in page
 * faults and zeroing, more than some whole indicators, so code that recomputes history repeatedly
 * should reuse its buffers (as TA-Lib's callers do).
 */
import { OptionsError, resolveOptions } from '@pipeline/core';
import { ADX_DEFAULTS, type ADXOptions } from './indicators/adx';
import { ATR_DEFAULTS, type ATROptions } from './indicators/atr';
import { BollingerBands, type BollingerBandsOptions } from './indicators/bollinger';
import { EMA_DEFAULTS, type EMAOptions } from './indicators/ema';
import { MACD, type MACDOptions } from './indicators/macd';
import { RSI_DEFAULTS, type RSIOptions } from './indicators/rsi';
import { SessionCalendar } from './indicators/session';
import { SMA_DEFAULTS, type SMAOptions } from './indicators/sma';
import { StdDev, type StdDevOptions } from './indicators/stddev';
import { Stochastic, type StochasticOptions } from './indicators/stochastic';
import { TA_EPSILON } from './indicators/talib';
import { VWAP_DEFAULTS, type VWAPOptions } from './indicators/vwap';
import { resolvePeriods } from './options';

/** A column of numbers: a Float64Array (fastest) or any array-like. */
export type Series = ArrayLike<number>;

// Indexing in this file: every loop reads columns at indexes inside 0..n-1 (n = the length checked at the
// top of each function, equal for all columns) and writes outputs of length n. Reads are written
// `x[i] ?? NaN` rather than `x[i]!`: the fallback is never taken, V8 folds it away on typed arrays
// (measured with bench/indicators.ts, see the README), and were an index ever out of range the result
// would be NaN, exactly what the unchecked `undefined` gave in arithmetic.

/**
 * The output array: `into` when given (checked: a Float64Array of length `n`), else a new one; its
 * first `lookback` entries are set to NaN, the kernel writes every later entry itself.
 */
function target(
  fn: string,
  name: string,
  into: Float64Array | undefined,
  group: object | undefined,
  n: number,
  lookback: number,
): Float64Array {
  let res: Float64Array;
  if (into === undefined && group === undefined) res = new Float64Array(n);
  else if (into instanceof Float64Array && into.length === n) res = into;
  else {
    const got =
      into instanceof Float64Array
        ? `a Float64Array of length ${into.length}`
        : Object.prototype.toString.call(into);
    throw new OptionsError(
      `${fn}: output "${name}" must be a Float64Array of the input's length ${n}, got ${got}`,
    );
  }
  res.fill(NaN, 0, Math.min(lookback, n));
  return res;
}

// Hot loops live in "loop-first" functions (`smaLoop`, `rsiLoop`, ...): the loop is the function's
// first statement, everything it needs comes in as parameters, and nothing follows it but a return of
// nothing or of one number. The reason is V8's lazy feedback: a function's first call runs in the
// interpreter without a feedback vector until the loop has run a while, so the code before a long loop
// has no type feedback after that call. V8 compiles the loop on the fly (on-stack replacement) and then
// the whole function; when that compile starts before a second call has filled the feedback in, the
// optimized function bails out at its first statement on the next call, and every later call stays on
// the on-stack-replaced loop, which re-checks its arrays on every element (measured in fresh processes
// of bench/talib-c/paired.ts: SMA 1.67 or 2.67 ns per bar, ADX 11.7 or 26.5, depending only on which of
// the two compiles won the race). With nothing before the loop to lack feedback, the function's own
// compile is always complete.

// Options are resolved through the classes' own validation, so batch and incremental accept the same.
function periodOf(
  component: string,
  defaults: { period: number },
  options: Partial<{ period: number }> | undefined,
  min: number,
): number {
  return resolvePeriods(component, defaults, options, { period: min }).period;
}

export function smaBatch(values: Series, options?: Partial<SMAOptions>, into?: Float64Array): Float64Array {
  const N = periodOf('SMA', SMA_DEFAULTS, options, 1);
  const n = values.length;
  const res = target('smaBatch', 'output', into, undefined, n, N - 1);
  const lb = N - 1;
  let total = 0;
  for (let i = 0; i < lb && i < n; i++) total += values[i] ?? NaN;
  smaLoop(values, res, N, lb, n, total);
  return res;
}

/**
 * Running sum from bar `lb` on (loop-first, see the top of this file), two bars per turn: the same
 * operations in the same order, with half the loop's own checks per bar (the sum's add and subtract are
 * the whole critical path, so every other instruction competes with them for the same few cycles).
 */
function smaLoop(values: Series, res: Float64Array, N: number, lb: number, n: number, total: number): void {
  let i = lb;
  for (; i + 1 < n; i += 2) {
    const s0 = total + (values[i] ?? NaN);
    const t0 = s0 - (values[i - lb] ?? NaN);
    const s1 = t0 + (values[i + 1] ?? NaN);
    total = s1 - (values[i + 1 - lb] ?? NaN);
    res[i] = s0 / N;
    res[i + 1] = s1 / N;
  }
  if (i < n) res[i] = (total + (values[i] ?? NaN)) / N;
}

export function emaBatch(values: Series, options?: Partial<EMAOptions>, into?: Float64Array): Float64Array {
  const N = periodOf('EMA', EMA_DEFAULTS, options, 1);
  const n = values.length;
  const res = target('emaBatch', 'output', into, undefined, n, N - 1);
  if (n < N) return res;
  const k = 2 / (N + 1);
  let sum = 0;
  for (let i = 0; i < N; i++) sum += values[i] ?? NaN;
  let ema = sum / N;
  res[N - 1] = ema;
  for (let i = N; i < n; i++) {
    ema = ((values[i] ?? NaN) - ema) * k + ema;
    res[i] = ema;
  }
  return res;
}

export function rsiBatch(values: Series, options?: Partial<RSIOptions>, into?: Float64Array): Float64Array {
  const N = periodOf('RSI', RSI_DEFAULTS, options, 2);
  const n = values.length;
  const res = target('rsiBatch', 'output', into, undefined, n, N);
  if (n <= N) return res;
  const n1 = N - 1;
  let gain = 0;
  let loss = 0;
  let prev = values[0] ?? NaN;
  for (let i = 1; i <= N; i++) {
    const x = values[i] ?? NaN;
    const d = x - prev;
    prev = x;
    if (d < 0) loss -= d;
    else gain += d;
  }
  gain /= N;
  loss /= N;
  const t = gain + loss;
  res[N] = -TA_EPSILON < t && t < TA_EPSILON ? 0 : 100 * (gain / t);
  rsiLoop(values, res, N, n1, N + 1, n, prev, gain, loss);
  return res;
}

/**
 * Wilder smoothing from bar `from` on (loop-first, see the top of this file). Branch-free: the move
 * goes to the loss with c = 1 (a down move) and to the gain with c = 0, and the other sum gets
 * `0 * d`, a zero that leaves it unchanged (x + -0 and x - +0 are x, and the sums are never -0: they
 * start at +0, and +0 * n1 - +0 is +0), so the doubles are those of the branch `if (d < 0) loss -= d;
 * else gain += d` for finite inputs. The branch mispredicted on about half of random-walk bars
 * (measured: 9.1-10.2 ns per bar with it against TA_RSI's 6.6-7.0).
 */
function rsiLoop(
  values: Series,
  res: Float64Array,
  N: number,
  n1: number,
  from: number,
  n: number,
  prev: number,
  gain: number,
  loss: number,
): void {
  for (let i = from; i < n; i++) {
    const x = values[i] ?? NaN;
    const d = x - prev;
    prev = x;
    const c = +(d < 0);
    loss = (loss * n1 - c * d) / N;
    gain = (gain * n1 + (1 - c) * d) / N;
    const t = gain + loss;
    res[i] = -TA_EPSILON < t && t < TA_EPSILON ? 0 : 100 * (gain / t);
  }
}

export function stdDevBatch(
  values: Series,
  options?: Partial<StdDevOptions>,
  into?: Float64Array,
): Float64Array {
  // Validation (and the multiplier check) through the class; the loop below mirrors StdDev.add.
  const ind = new StdDev(options);
  const N = ind.period;
  const mult = ind.multiplier;
  const n = values.length;
  const res = target('stdDevBatch', 'output', into, undefined, n, N - 1);
  const lb = N - 1;
  let t1 = 0;
  let t2 = 0;
  for (let i = 0; i < lb && i < n; i++) {
    const x = values[i] ?? NaN;
    t1 += x;
    t2 += x * x;
  }
  stdDevLoop(values, res, N, lb, n, mult, t1, t2);
  return res;
}

/** Running sums of x and x² from bar `lb` on (loop-first, see the top of this file). */
function stdDevLoop(
  values: Series,
  res: Float64Array,
  N: number,
  lb: number,
  n: number,
  mult: number,
  t1: number,
  t2: number,
): void {
  for (let i = lb; i < n; i++) {
    const x = values[i] ?? NaN;
    const s1 = t1 + x;
    const s2 = t2 + x * x;
    const m1 = s1 / N;
    const m2 = s2 / N;
    const old = values[i - lb] ?? NaN;
    t1 = s1 - old;
    t2 = s2 - old * old;
    const v = m2 - m1 * m1;
    res[i] = v < TA_EPSILON ? 0 : Math.sqrt(v) * mult;
  }
}

export interface MACDBatchResult {
  macd: Float64Array;
  signal: Float64Array;
  histogram: Float64Array;
}

export function macdBatch(
  values: Series,
  options?: Partial<MACDOptions>,
  into?: MACDBatchResult,
): MACDBatchResult {
  const ind = new MACD(options); // validation only; the loop mirrors MACD.add
  const { fast, slow, signal: sp } = ind;
  const n = values.length;
  const lookback = ind.lookback;
  const macd = target('macdBatch', 'macd', into?.macd, into, n, lookback);
  const signal = target('macdBatch', 'signal', into?.signal, into, n, lookback);
  const histogram = target('macdBatch', 'histogram', into?.histogram, into, n, lookback);
  macdKernel(values, fast, slow, sp, macd, signal, histogram);
  return { macd, signal, histogram };
}

/**
 * The loops of the multi-output functions live in kernels that return nothing: V8 compiles a long
 * loop on the fly (on-stack replacement) before the code after it has ever run, and a result object
 * built after such a loop made the optimized code bail out at the end of every call (measured: batch
 * ADX at 110-240 ns per bar instead of 20).
 */
function macdKernel(
  values: Series,
  fast: number,
  slow: number,
  sp: number,
  macd: Float64Array,
  signal: Float64Array,
  histogram: Float64Array,
): void {
  const n = values.length;
  const seedAt = slow - 1;
  if (n <= seedAt) return;
  const kFast = 2 / (fast + 1);
  const kSlow = 2 / (slow + 1);
  const kSig = 2 / (sp + 1);
  let slowSum = 0;
  let fastSum = 0;
  for (let i = 0; i <= seedAt; i++) {
    const x = values[i] ?? NaN;
    slowSum += x;
    if (i >= slow - fast) fastSum += x;
  }
  let slowEma = slowSum / slow;
  let fastEma = fastSum / fast;
  // The signal line's seed: the mean of the first sp MACD values (bars seedAt..seedAt + sp - 1).
  let sigSum = 0;
  const sigAt = seedAt + sp - 1;
  for (let i = seedAt; i <= sigAt && i < n; i++) {
    if (i > seedAt) {
      const x = values[i] ?? NaN;
      slowEma = (x - slowEma) * kSlow + slowEma;
      fastEma = (x - fastEma) * kFast + fastEma;
    }
    const m = fastEma - slowEma;
    sigSum += m;
    if (i === sigAt) {
      const sig = sigSum / sp;
      macd[i] = m;
      signal[i] = sig;
      histogram[i] = m - sig;
      macdLoop(values, kFast, kSlow, kSig, sigAt + 1, n, slowEma, fastEma, sig, macd, signal, histogram);
    }
  }
}

/** The three EMAs from bar `from` on (loop-first, see the top of this file). */
function macdLoop(
  values: Series,
  kFast: number,
  kSlow: number,
  kSig: number,
  from: number,
  n: number,
  slowEma: number,
  fastEma: number,
  sig: number,
  macd: Float64Array,
  signal: Float64Array,
  histogram: Float64Array,
): void {
  for (let i = from; i < n; i++) {
    const x = values[i] ?? NaN;
    slowEma = (x - slowEma) * kSlow + slowEma;
    fastEma = (x - fastEma) * kFast + fastEma;
    const m = fastEma - slowEma;
    sig = (m - sig) * kSig + sig;
    macd[i] = m;
    signal[i] = sig;
    histogram[i] = m - sig;
  }
}

export interface BollingerBatchResult {
  upper: Float64Array;
  middle: Float64Array;
  lower: Float64Array;
}

export function bollingerBatch(
  values: Series,
  options?: Partial<BollingerBandsOptions>,
  into?: BollingerBatchResult,
): BollingerBatchResult {
  const ind = new BollingerBands(options);
  const n = values.length;
  const lb0 = ind.mode === 'exact' ? n : ind.lookback;
  const upper = target('bollingerBatch', 'upper', into?.upper, into, n, lb0);
  const middle = target('bollingerBatch', 'middle', into?.middle, into, n, lb0);
  const lower = target('bollingerBatch', 'lower', into?.lower, into, n, lb0);
  if (ind.mode === 'exact') {
    const lb = ind.lookback;
    for (let i = 0; i < n; i++) {
      ind.add(values[i] ?? NaN);
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
  bollingerKernel(values, ind.period, ind.stdDev, upper, middle, lower);
  return { upper, middle, lower };
}

/** TA-Lib mode: mirrors BollingerBands.add + getResult. */
function bollingerKernel(
  values: Series,
  N: number,
  k: number,
  upper: Float64Array,
  middle: Float64Array,
  lower: Float64Array,
): void {
  const n = values.length;
  const lb = N - 1;
  let t1 = 0;
  let t2 = 0;
  for (let i = 0; i < lb && i < n; i++) {
    const x = values[i] ?? NaN;
    t1 += x;
    t2 += x * x;
  }
  bollingerLoop(values, N, k, lb, n, t1, t2, upper, middle, lower);
}

/** Running sums of x and x² from bar `lb` on (loop-first, see the top of this file). */
function bollingerLoop(
  values: Series,
  N: number,
  k: number,
  lb: number,
  n: number,
  t1: number,
  t2: number,
  upper: Float64Array,
  middle: Float64Array,
  lower: Float64Array,
): void {
  for (let i = lb; i < n; i++) {
    const x = values[i] ?? NaN;
    const s1 = t1 + x;
    const s2 = t2 + x * x;
    const mid = s1 / N;
    const v = s2 / N - mid * mid;
    const old = values[i - lb] ?? NaN;
    t1 = s1 - old;
    t2 = s2 - old * old;
    const t = (v < TA_EPSILON ? 0 : Math.sqrt(v)) * k;
    middle[i] = mid;
    upper[i] = mid + t;
    lower[i] = mid - t;
  }
}

export function atrBatch(
  high: Series,
  low: Series,
  close: Series,
  options?: Partial<ATROptions>,
  into?: Float64Array,
): Float64Array {
  const N = periodOf('ATR', ATR_DEFAULTS, options, 1);
  const n = close.length;
  const res = target('atrBatch', 'output', into, undefined, n, N);
  if (n <= N) return res;
  let sum = 0;
  for (let i = 1; i <= N; i++) {
    const h = high[i] ?? NaN;
    const l = low[i] ?? NaN;
    const pc = close[i - 1] ?? NaN;
    let tr = h - l;
    const a = Math.abs(pc - h);
    if (a > tr) tr = a;
    const b = Math.abs(pc - l);
    if (b > tr) tr = b;
    sum += tr;
  }
  const atr = sum / N;
  res[N] = atr;
  atrLoop(high, low, close, res, N, N - 1, N + 1, n, atr);
  return res;
}

/** Wilder smoothing of the true range from bar `from` on (loop-first, see the top of this file). */
function atrLoop(
  high: Series,
  low: Series,
  close: Series,
  res: Float64Array,
  N: number,
  n1: number,
  from: number,
  n: number,
  atr: number,
): void {
  for (let i = from; i < n; i++) {
    const h = high[i] ?? NaN;
    const l = low[i] ?? NaN;
    const pc = close[i - 1] ?? NaN;
    let tr = h - l;
    const a = Math.abs(pc - h);
    if (a > tr) tr = a;
    const b = Math.abs(pc - l);
    if (b > tr) tr = b;
    atr = (atr * n1 + tr) / N;
    res[i] = atr;
  }
}

export interface ADXBatchResult {
  /** Valid from index `2 * period - 1`. */
  adx: Float64Array;
  /** Valid from index `period`. */
  plusDI: Float64Array;
  /** Valid from index `period`. */
  minusDI: Float64Array;
}

export interface ADXBatchResult {
  /** Valid from index `2 * period - 1`. */
  adx: Float64Array;
  /** Valid from index `period`. */
  plusDI: Float64Array;
  /** Valid from index `period`. */
  minusDI: Float64Array;
}

/**
 * ADX with +DI and -DI in one pass (`TA_ADX`, `TA_PLUS_DI`, `TA_MINUS_DI`). Three loops over the
 * three phases (DM/TR warm-up, DX sum for the first ADX, Wilder ADX) keep the per-bar branches out of
 * the hot loop; the floating-point operations and their order are those of `ADX.add`.
 */
export function adxBatch(
  high: Series,
  low: Series,
  close: Series,
  options?: Partial<ADXOptions>,
  into?: ADXBatchResult,
): ADXBatchResult {
  const N = periodOf('ADX', ADX_DEFAULTS, options, 2);
  const n = close.length;
  const lb = 2 * N - 1;
  const adx = target('adxBatch', 'adx', into?.adx, into, n, lb);
  const plusDI = target('adxBatch', 'plusDI', into?.plusDI, into, n, N);
  const minusDI = target('adxBatch', 'minusDI', into?.minusDI, into, n, N);
  if (!adxKernelWarm && n > lb) {
    // Two runs over a short prefix give the kernel's code before its long loop type feedback before its
    // first long run (V8's lazy feedback, see the top of this file), so its optimized code is complete;
    // without them that code stayed on the on-stack-replaced loop in about half of fresh processes
    // (26 ns per bar instead of 12). The long run below rewrites the prefix with the same values.
    adxKernelWarm = true;
    const m = Math.min(n, lb + 64);
    adxKernel(high, low, close, m, N, adx, plusDI, minusDI);
    adxKernel(high, low, close, m, N, adx, plusDI, minusDI);
  }
  adxKernel(high, low, close, n, N, adx, plusDI, minusDI);
  return { adx, plusDI, minusDI };
}

/** Whether adxBatch has warmed adxKernel up (once per process). */
let adxKernelWarm = false;

/**
 * The DM update is branch-free (a mispredicted branch per bar cost more than the whole rest): the
 * move that does not count is added as `0 * move`, i.e. +0 or -0, which leaves a DM sum unchanged
 * because the sums are never -0 (they start at +0 and `+0 - +0 / N` is +0). Finite inputs assumed, as
 * everywhere in the batch API. Not loop-first (see the top of this file): its long loop carries seven
 * values, and V8 kept all seven boxed when they came in as parameters (26 ns per bar instead of 12);
 * adxBatch warms it up instead. Reads bars 0..n-1.
 */
function adxKernel(
  high: Series,
  low: Series,
  close: Series,
  n: number,
  N: number,
  adx: Float64Array,
  plusDI: Float64Array,
  minusDI: Float64Array,
): void {
  if (n < 2) return;
  const lb = 2 * N - 1;
  const n1 = N - 1;
  let pDM = 0;
  let mDM = 0;
  let trS = 0;
  let ph = high[0] ?? NaN;
  let pl = low[0] ?? NaN;
  let pc = close[0] ?? NaN;
  // Phase 1: the first N - 1 moves are summed.
  const warmEnd = Math.min(N, n);
  for (let i = 1; i < warmEnd; i++) {
    const h = high[i] ?? NaN;
    const l = low[i] ?? NaN;
    const diffP = h - ph;
    const diffM = pl - l;
    let tr = h - l;
    const x = Math.abs(h - pc);
    if (x > tr) tr = x;
    const y = Math.abs(l - pc);
    if (y > tr) tr = y;
    if (diffM > 0 && diffP < diffM) mDM += diffM;
    else if (diffP > 0 && diffP > diffM) pDM += diffP;
    trS += tr;
    ph = h;
    pl = l;
    pc = close[i] ?? NaN;
  }
  // Phase 2 (bars N..2N-1): Wilder DM/TR, DI out, DX summed; the first ADX is their mean.
  let sumDX = 0;
  const seedEnd = Math.min(lb + 1, n);
  for (let i = N; i < seedEnd; i++) {
    const h = high[i] ?? NaN;
    const l = low[i] ?? NaN;
    const diffP = h - ph;
    const diffM = pl - l;
    let tr = h - l;
    const x = Math.abs(h - pc);
    if (x > tr) tr = x;
    const y = Math.abs(l - pc);
    if (y > tr) tr = y;
    mDM -= mDM / N;
    pDM -= pDM / N;
    const isM = +(diffM > 0) & +(diffP < diffM);
    mDM += isM * diffM;
    pDM += (+(diffP > 0) & +(diffP > diffM) & (isM ^ 1)) * diffP;
    trS = trS - trS / N + tr;
    ph = h;
    pl = l;
    pc = close[i] ?? NaN;
    if (-TA_EPSILON < trS && trS < TA_EPSILON) {
      plusDI[i] = 0;
      minusDI[i] = 0;
      continue;
    }
    const mdi = 100 * (mDM / trS);
    const pdi = 100 * (pDM / trS);
    plusDI[i] = pdi;
    minusDI[i] = mdi;
    const s = mdi + pdi;
    if (!(-TA_EPSILON < s && s < TA_EPSILON)) sumDX += 100 * (Math.abs(mdi - pdi) / s);
  }
  if (n <= lb) return;
  let a = sumDX / N;
  adx[lb] = a;
  // Phase 3: Wilder smoothing of DX; a bar with zero TR or zero DI sum leaves the ADX unchanged.
  for (let i = lb + 1; i < n; i++) {
    const h = high[i] ?? NaN;
    const l = low[i] ?? NaN;
    const diffP = h - ph;
    const diffM = pl - l;
    let tr = h - l;
    const x = Math.abs(h - pc);
    if (x > tr) tr = x;
    const y = Math.abs(l - pc);
    if (y > tr) tr = y;
    mDM -= mDM / N;
    pDM -= pDM / N;
    const isM = +(diffM > 0) & +(diffP < diffM);
    mDM += isM * diffM;
    pDM += (+(diffP > 0) & +(diffP > diffM) & (isM ^ 1)) * diffP;
    trS = trS - trS / N + tr;
    ph = h;
    pl = l;
    pc = close[i] ?? NaN;
    if (-TA_EPSILON < trS && trS < TA_EPSILON) {
      plusDI[i] = 0;
      minusDI[i] = 0;
      adx[i] = a;
      continue;
    }
    const mdi = 100 * (mDM / trS);
    const pdi = 100 * (pDM / trS);
    plusDI[i] = pdi;
    minusDI[i] = mdi;
    const s = mdi + pdi;
    if (!(-TA_EPSILON < s && s < TA_EPSILON)) a = (a * n1 + 100 * (Math.abs(mdi - pdi) / s)) / N;
    adx[i] = a;
  }
}
export interface StochasticBatchResult {
  k: Float64Array;
  d: Float64Array;
}

export interface StochasticBatchResult {
  k: Float64Array;
  d: Float64Array;
}

/**
 * Slow stochastic (`TA_STOCH`, SMA/SMA). The window extremes are tracked by index and rescanned only
 * when the extreme leaves the window, TA-Lib's own method (O(1) per bar but for that O(kPeriod)
 * rescan); the slow %K and %D running sums are the same operations as `Stochastic.addValues`. The
 * outputs double as scratch space, so no buffer is allocated beyond them.
 */
export function stochasticBatch(
  high: Series,
  low: Series,
  close: Series,
  options?: Partial<StochasticOptions>,
  into?: StochasticBatchResult,
): StochasticBatchResult {
  const ind = new Stochastic(options); // validation only
  const P = ind.kPeriod;
  const K = ind.kSlowing;
  const D = ind.dPeriod;
  const n = close.length;
  const lookback = ind.lookback;
  const k = target('stochasticBatch', 'k', into?.k, into, n, lookback);
  const d = target('stochasticBatch', 'd', into?.d, into, n, lookback);
  stochasticKernel(high, low, close, P, K, D, k, d);
  return { k, d };
}

/** Block-suffix extremes of the van Herk/Gil-Werman pass, grown to the largest kPeriod seen. */
let suffixHigh = new Float64Array(64);
let suffixLow = new Float64Array(64);

function stochasticKernel(
  high: Series,
  low: Series,
  close: Series,
  P: number,
  K: number,
  D: number,
  k: Float64Array,
  d: Float64Array,
): void {
  const n = close.length;
  if (suffixHigh.length < P) {
    suffixHigh = new Float64Array(P);
    suffixLow = new Float64Array(P);
  }
  if (stochasticFastK(high, low, close, P, n, suffixHigh, suffixLow, d) !== 0) {
    stochasticKernelScan(high, low, close, P, K, D, k, d);
    return;
  }
  stochasticSlow(P, K, D, n, k, d);
}

/**
 * Fast %K into d without a data-dependent branch (van Herk/Gil-Werman): the series is cut into blocks of
 * P bars; the window [i-P+1, i] is the suffix of one block and the prefix of the next, so its extremes are
 * max(suffix extreme, prefix extreme), both running values. Each "keep the larger" is the select
 * `c * x + (1 - c) * y` with c = 0 or 1, a comparison turned into a number: no jump to mispredict, going
 * by the measured speed-up (V8's assembly was not inspected). For finite x and y it is x or y plus a
 * zero, so exactly x or y, except that a zero result may come out with the other sign. Such a zero cannot
 * reach the outputs: hi - lo of equal values is +0 whatever their signs, `close - lo` is a zero only when
 * the fast %K is one, and the slow %K's running sum is never -0 (it starts at +0; +0 + -0 and x - x are
 * +0), so a -0 fast %K adds as +0 does. So for finite inputs the outputs are the same doubles as TA-Lib's
 * index/rescan method (the TA-Lib reference suite and `batch.test.ts` check it). That method branches
 * unpredictably on about 40 % of random-walk bars (a new extreme on 18 %, an extreme leaving the window on
 * 19 %, then a rescan of up to P bars); this pass only has its loops' branches. It returns non-zero when a
 * window's range is NaN or infinite (a non-finite input, which the index method treats its own way); the
 * caller then recomputes everything with the index/rescan kernel. Loop-first (see the top of this file):
 * `sH` and `sL` are the suffix buffers, at least P long.
 */
function stochasticFastK(
  high: Series,
  low: Series,
  close: Series,
  P: number,
  n: number,
  sH: Float64Array,
  sL: Float64Array,
  d: Float64Array,
): number {
  let bad = 0;
  for (let b = 0; b < n; b += P) {
    const e = Math.min(b + P, n);
    let pH = high[b] ?? NaN;
    let pL = low[b] ?? NaN;
    for (let i = b; i < e; i++) {
      const h = high[i] ?? NaN;
      const l = low[i] ?? NaN;
      let c = +(h > pH);
      pH = c * h + (1 - c) * pH;
      c = +(l < pL);
      pL = c * l + (1 - c) * pL;
      if (i >= P - 1) {
        let hi = pH;
        let lo = pL;
        const t = i - P + 1;
        if (t !== b) {
          const o = t - b + P;
          const a = sH[o] ?? NaN;
          const x = sL[o] ?? NaN;
          c = +(a > hi);
          hi = c * a + (1 - c) * hi;
          c = +(x < lo);
          lo = c * x + (1 - c) * lo;
        }
        const diff = (hi - lo) / 100;
        bad |= +(diff - diff !== 0); // NaN or infinite: a non-finite input (or a range beyond 1.8e308)
        d[i] = diff !== 0 ? ((close[i] ?? NaN) - lo) / diff : 0;
      }
    }
    let a = high[e - 1] ?? NaN;
    let x = low[e - 1] ?? NaN;
    for (let i = e - 1; i >= b; i--) {
      const h = high[i] ?? NaN;
      const l = low[i] ?? NaN;
      let c = +(h > a);
      a = c * h + (1 - c) * a;
      c = +(l < x);
      x = c * l + (1 - c) * x;
      sH[i - b] = a;
      sL[i - b] = x;
    }
  }
  return bad;
}

/** The index/rescan kernel (TA-Lib's method, with its branches), for inputs the fast pass refuses. */
function stochasticKernelScan(
  high: Series,
  low: Series,
  close: Series,
  P: number,
  K: number,
  D: number,
  k: Float64Array,
  d: Float64Array,
): void {
  const n = close.length;
  // Three passes, as TA-Lib runs them (measured 10-25 % faster than one loop with ring buffers):
  // fast %K into d, slow %K (running-sum SMA of d) into k, %D (running-sum SMA of k) into d.
  let hiIdx = -1;
  let hi = 0;
  let loIdx = -1;
  let lo = 0;
  for (let i = P - 1; i < n; i++) {
    const trailing = i - P + 1;
    const h = high[i] ?? NaN;
    if (hiIdx < trailing) {
      hiIdx = trailing;
      hi = high[trailing] ?? NaN;
      for (let j = trailing + 1; j <= i; j++) {
        const x = high[j] ?? NaN;
        if (x > hi) {
          hi = x;
          hiIdx = j;
        }
      }
    } else if (h >= hi) {
      hiIdx = i;
      hi = h;
    }
    const l = low[i] ?? NaN;
    if (loIdx < trailing) {
      loIdx = trailing;
      lo = low[trailing] ?? NaN;
      for (let j = trailing + 1; j <= i; j++) {
        const x = low[j] ?? NaN;
        if (x < lo) {
          lo = x;
          loIdx = j;
        }
      }
    } else if (l <= lo) {
      loIdx = i;
      lo = l;
    }
    const diff = (hi - lo) / 100;
    d[i] = diff !== 0 ? ((close[i] ?? NaN) - lo) / diff : 0;
  }
  stochasticSlow(P, K, D, n, k, d);
}

/** Slow %K (running-sum SMA of the fast %K in d) into k, then %D (running-sum SMA of k) into d. */
function stochasticSlow(P: number, K: number, D: number, n: number, k: Float64Array, d: Float64Array): void {
  // The same running-sum operations as Stochastic.addValues: total + x, / period, - the oldest.
  const s1 = P - 1 + K - 1;
  let total = 0;
  for (let i = P - 1; i < s1 && i < n; i++) total += d[i] ?? NaN;
  stochasticSmaLoop(d, k, K, K - 1, s1, n, total);
  const lb = s1 + D - 1;
  total = 0;
  for (let i = s1; i < lb && i < n; i++) total += k[i] ?? NaN;
  stochasticSmaLoop(k, d, D, D - 1, lb, n, total);
  // The passes left fast and slow %K values before the first valid index.
  const m = Math.min(lb, n);
  k.fill(NaN, 0, m);
  d.fill(NaN, 0, m);
}

/**
 * Running-sum SMA of src into dst from bar `from` on (loop-first, see the top of this file), two bars
 * per turn as smaLoop.
 */
function stochasticSmaLoop(
  src: Float64Array,
  dst: Float64Array,
  period: number,
  back: number,
  from: number,
  n: number,
  total: number,
): void {
  let i = from;
  for (; i + 1 < n; i += 2) {
    const t0 = total + (src[i] ?? NaN);
    const u0 = t0 - (src[i - back] ?? NaN);
    const t1 = u0 + (src[i + 1] ?? NaN);
    total = t1 - (src[i + 1 - back] ?? NaN);
    dst[i] = t0 / period;
    dst[i + 1] = t1 / period;
  }
  if (i < n) dst[i] = (total + (src[i] ?? NaN)) / period;
}
/**
 * OBV, branch-free: `obv -= d * v` with d = -1 (up close), 1 (down close) or 0 (equal) performs
 * exactly `obv += v`, `obv -= v` (IEEE `a - (-b)` is `a + b`) or `obv - 0`, which is `obv` for every
 * volume >= +0 (only a -0 volume on top of a -0 OBV could differ).
 */
export function obvBatch(close: Series, volume: Series, into?: Float64Array): Float64Array {
  const n = close.length;
  const res = target('obvBatch', 'output', into, undefined, n, 0);
  if (n === 0) return res;
  let obv = volume[0] ?? NaN;
  let prev = close[0] ?? NaN;
  res[0] = obv;
  for (let i = 1; i < n; i++) {
    const c = close[i] ?? NaN;
    obv -= (+(c < prev) - +(c > prev)) * (volume[i] ?? NaN);
    prev = c;
    res[i] = obv;
  }
  return res;
}

/**
 * Session-anchored VWAP (not in TA-Lib): the same operations as `VWAP.addValues` (Neumaier sums,
 * reset at each session start) in one loop; the session calendar is consulted once per session. Like
 * the class, a bar with a non-finite field is skipped (its output repeats the previous value).
 */
export function vwapBatch(
  ts: Series,
  high: Series,
  low: Series,
  close: Series,
  volume: Series,
  options?: Partial<VWAPOptions>,
  into?: Float64Array,
): Float64Array {
  const o = resolveOptions('VWAP', VWAP_DEFAULTS, options);
  const calendar = new SessionCalendar('VWAP', o.sessionStart, o.timeZone);
  const n = close.length;
  const res = target('vwapBatch', 'output', into, undefined, n, 0);
  let start = 0;
  let end = 0;
  let pv = 0;
  let pvc = 0;
  let v = 0;
  let vc = 0;
  let value = NaN;
  for (let i = 0; i < n; i++) {
    const t = ts[i] ?? NaN;
    const h = high[i] ?? NaN;
    const l = low[i] ?? NaN;
    const c = close[i] ?? NaN;
    const vol = volume[i] ?? NaN;
    if (!(t - t === 0 && h - h === 0 && l - l === 0 && c - c === 0 && vol - vol === 0)) {
      res[i] = value;
      continue;
    }
    if (t >= end || t < start) {
      const s = calendar.sessionOf(t);
      if (s.start !== start) pv = pvc = v = vc = 0;
      start = s.start;
      end = s.end;
    }
    const x = ((h + l + c) / 3) * vol;
    // Neumaier: keep the low-order bits lost by each addition in a compensation term.
    let t0 = pv + x;
    pvc += Math.abs(pv) >= Math.abs(x) ? pv - t0 + x : x - t0 + pv;
    pv = t0;
    t0 = v + vol;
    vc += Math.abs(v) >= Math.abs(vol) ? v - t0 + vol : vol - t0 + v;
    v = t0;
    const w = v + vc;
    value = w > 0 ? (pv + pvc) / w : NaN;
    res[i] = value;
  }
  return res;
}
