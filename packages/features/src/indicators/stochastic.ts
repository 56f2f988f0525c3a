import { IndicatorBase } from './base';
import { resolvePeriods } from '../options';
import { type HLC } from './inputs';

export interface StochasticOptions {
  /** Fast %K look-back window in bars. @default 14 */
  kPeriod: number;
  /** SMA period that smooths fast %K into slow %K. @default 3 */
  kSlowing: number;
  /** SMA period of slow %K that gives %D. @default 3 */
  dPeriod: number;
}
export const STOCHASTIC_DEFAULTS: Readonly<StochasticOptions> = Object.freeze({
  kPeriod: 14,
  kSlowing: 3,
  dPeriod: 3,
});

/** One stochastic reading (slow %K and %D, 0..100); the object is reused between updates. */
export interface StochasticResult {
  k: number;
  d: number;
}

/**
 * Slow stochastic as `TA_STOCH` with SMA smoothing for both lines: fast %K =
 * `(close - lowest low) / ((highest high - lowest low) / 100)` over `kPeriod` bars, 0 when the range is
 * zero; slow %K = SMA(fast %K, kSlowing); %D = SMA(slow %K, dPeriod), both SMAs in TA-Lib's running-sum
 * form. The extremes are tracked by index and rescanned only when the extreme leaves the window, as
 * TA-Lib does: O(1) per update except that rescan (O(kPeriod)). Lookback
 * `kPeriod - 1 + kSlowing - 1 + dPeriod - 1` (17 for 14/3/3).
 */
export class Stochastic extends IndicatorBase<HLC, StochasticResult> {
  readonly label: string;
  readonly lookback: number;
  readonly kPeriod: number;
  readonly kSlowing: number;
  readonly dPeriod: number;
  protected readonly kind = 'stochastic';
  protected readonly params: Record<string, number>;
  protected readonly scalarFields = [
    'pos',
    'lowIdx',
    'low',
    'highIdx',
    'high',
    'kTotal',
    'kPos',
    'slowK',
    'dTotal',
    'dPos',
    'slowD',
    'uHiSlot',
    'uLoSlot',
    'uLowIdx',
    'uLow',
    'uHighIdx',
    'uHigh',
    'uKTotal',
    'uKSlot',
    'uSlowK',
    'uDTotal',
    'uDSlot',
    'uSlowD',
  ] as const;
  protected readonly bufferFields = ['highs', 'lows', 'kBuf', 'dBuf'] as const;
  private readonly highs: Float64Array;
  private readonly lows: Float64Array;
  private readonly kBuf: Float64Array;
  private readonly dBuf: Float64Array;
  private readonly result: StochasticResult = { k: NaN, d: NaN };
  private pos = 0;
  /** Absolute input index of the lowest low / highest high in the window (-1: none yet). */
  private lowIdx = -1;
  private low = 0;
  private highIdx = -1;
  private high = 0;
  private kTotal = 0;
  private kPos = 0;
  private slowK = NaN;
  private dTotal = 0;
  private dPos = 0;
  private slowD = NaN;
  private uHiSlot = 0;
  private uLoSlot = 0;
  private uLowIdx = -1;
  private uLow = 0;
  private uHighIdx = -1;
  private uHigh = 0;
  private uKTotal = 0;
  private uKSlot = 0;
  private uSlowK = NaN;
  private uDTotal = 0;
  private uDSlot = 0;
  private uSlowD = NaN;

  constructor(options?: Partial<StochasticOptions>) {
    super();
    const o = resolvePeriods('Stochastic', STOCHASTIC_DEFAULTS, options, {
      kPeriod: 1,
      kSlowing: 1,
      dPeriod: 1,
    });
    this.kPeriod = o.kPeriod;
    this.kSlowing = o.kSlowing;
    this.dPeriod = o.dPeriod;
    this.lookback = o.kPeriod - 1 + o.kSlowing - 1 + o.dPeriod - 1;
    this.label = `stochastic(${o.kPeriod},${o.kSlowing},${o.dPeriod})`;
    this.params = { kPeriod: o.kPeriod, kSlowing: o.kSlowing, dPeriod: o.dPeriod };
    this.highs = new Float64Array(o.kPeriod);
    this.lows = new Float64Array(o.kPeriod);
    this.kBuf = new Float64Array(o.kSlowing);
    this.dBuf = new Float64Array(o.dPeriod);
  }

  add(bar: HLC): void {
    this.addValues(bar.high, bar.low, bar.close);
  }

  replace(bar: HLC): void {
    this.replaceValues(bar.high, bar.low, bar.close);
  }

  addValues(high: number, low: number, close: number): void {
    if (!(high - high === 0 && low - low === 0 && close - close === 0)) {
      this.rejected++;
      return;
    }
    const n = this.count;
    const P = this.kPeriod;
    const p = this.pos;
    this.uHiSlot = this.highs[p] ?? NaN;
    this.uLoSlot = this.lows[p] ?? NaN;
    this.uLowIdx = this.lowIdx;
    this.uLow = this.low;
    this.uHighIdx = this.highIdx;
    this.uHigh = this.high;
    this.uKTotal = this.kTotal;
    this.uKSlot = this.kBuf[this.kPos] ?? NaN;
    this.uSlowK = this.slowK;
    this.uDTotal = this.dTotal;
    this.uDSlot = this.dBuf[this.dPos] ?? NaN;
    this.uSlowD = this.slowD;
    this.highs[p] = high;
    this.lows[p] = low;
    this.pos = p + 1 === P ? 0 : p + 1;
    this.count = n + 1;
    if (n < P - 1) return;

    const trailing = n - P + 1;
    if (this.lowIdx < trailing) this.rescanLow(trailing, n);
    else if (low <= this.low) {
      this.lowIdx = n;
      this.low = low;
    }
    if (this.highIdx < trailing) this.rescanHigh(trailing, n);
    else if (high >= this.high) {
      this.highIdx = n;
      this.high = high;
    }
    const diff = (this.high - this.low) / 100;
    const fastK = diff !== 0 ? (close - this.low) / diff : 0;

    // slow %K: TA-Lib running-sum SMA over the fast %K series (which starts at input kPeriod - 1).
    const j = n - (P - 1);
    const K = this.kSlowing;
    const kb = this.kBuf;
    let kp = this.kPos;
    kb[kp] = fastK;
    if (++kp === K) kp = 0;
    this.kPos = kp;
    if (j < K - 1) {
      this.kTotal += fastK;
      return;
    }
    const ks = this.kTotal + fastK;
    const slowK = ks / K;
    // Hot path: a ring index below the buffer's length (unchecked read, no branch).
    this.kTotal = ks - (kb[kp] ?? NaN);
    this.slowK = slowK;

    const m = j - (K - 1);
    const D = this.dPeriod;
    const db = this.dBuf;
    let dp = this.dPos;
    db[dp] = slowK;
    if (++dp === D) dp = 0;
    this.dPos = dp;
    if (m < D - 1) {
      this.dTotal += slowK;
      return;
    }
    const ds = this.dTotal + slowK;
    this.slowD = ds / D;
    // Hot path: a ring index below the buffer's length (unchecked read, no branch).
    this.dTotal = ds - (db[dp] ?? NaN);
  }

  private rescanLow(from: number, to: number): void {
    const P = this.kPeriod;
    let idx = from;
    // Hot path: a ring index below the buffer's length (unchecked read, no branch).
    let v = this.lows[from % P] ?? NaN;
    for (let i = from + 1; i <= to; i++) {
      // Hot path: a ring index below the buffer's length (unchecked read, no branch).
      const x = this.lows[i % P] ?? NaN;
      if (x < v) {
        v = x;
        idx = i;
      }
    }
    this.lowIdx = idx;
    this.low = v;
  }

  private rescanHigh(from: number, to: number): void {
    const P = this.kPeriod;
    let idx = from;
    // Hot path: a ring index below the buffer's length (unchecked read, no branch).
    let v = this.highs[from % P] ?? NaN;
    for (let i = from + 1; i <= to; i++) {
      // Hot path: a ring index below the buffer's length (unchecked read, no branch).
      const x = this.highs[i % P] ?? NaN;
      if (x > v) {
        v = x;
        idx = i;
      }
    }
    this.highIdx = idx;
    this.high = v;
  }

  replaceValues(high: number, low: number, close: number): void {
    if (this.count === 0 || !(high - high === 0 && low - low === 0 && close - close === 0)) {
      this.addValues(high, low, close);
      return;
    }
    const n = this.count - 1;
    this.count = n;
    const P = this.kPeriod;
    const p = this.pos === 0 ? P - 1 : this.pos - 1;
    this.pos = p;
    this.highs[p] = this.uHiSlot;
    this.lows[p] = this.uLoSlot;
    this.lowIdx = this.uLowIdx;
    this.low = this.uLow;
    this.highIdx = this.uHighIdx;
    this.high = this.uHigh;
    if (n >= P - 1) {
      // The fast %K ring was written; the slow %K ring only once fast %K had kSlowing values.
      this.kPos = this.kPos === 0 ? this.kSlowing - 1 : this.kPos - 1;
      this.kBuf[this.kPos] = this.uKSlot;
      this.kTotal = this.uKTotal;
      this.slowK = this.uSlowK;
      if (n - (P - 1) >= this.kSlowing - 1) {
        this.dPos = this.dPos === 0 ? this.dPeriod - 1 : this.dPos - 1;
        this.dBuf[this.dPos] = this.uDSlot;
        this.dTotal = this.uDTotal;
        this.slowD = this.uSlowD;
      }
    }
    this.addValues(high, low, close);
  }

  getResult(): StochasticResult | null {
    if (this.count <= this.lookback) return null;
    const r = this.result;
    r.k = this.slowK;
    r.d = this.slowD;
    return r;
  }

  protected clear(): void {
    this.highs.fill(0);
    this.lows.fill(0);
    this.kBuf.fill(0);
    this.dBuf.fill(0);
    this.pos = this.kPos = this.dPos = 0;
    this.lowIdx = this.highIdx = -1;
    this.low = this.high = 0;
    this.kTotal = this.dTotal = 0;
    this.slowK = this.slowD = NaN;
  }
}
