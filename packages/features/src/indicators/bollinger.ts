import { OptionsError, assertNumberOption } from '@pipeline/core';
import { IndicatorBase } from './base';
import { resolvePeriods } from '../options';
import { TA_EPSILON } from './talib';

/** How the band width is computed. */
export const BOLLINGER_MODES = {
  /** TA-Lib's running sums of x and x² (`E[x²] - E[x]²`): O(1), bit-identical to `TA_BBANDS`. */
  talib: 'talib',
  /** Two passes over the window (mean, then squared deviations): O(period), no cancellation. */
  exact: 'exact',
} as const;
export type BollingerMode = (typeof BOLLINGER_MODES)[keyof typeof BOLLINGER_MODES];

export interface BollingerBandsOptions {
  /** Window length in inputs. @default 20 */
  period: number;
  /** Band distance in standard deviations (same above and below). @default 2 */
  stdDev: number;
  /** `talib` (bit-compatible, O(1)) or `exact` (two-pass, O(period)). @default 'talib' */
  mode: BollingerMode;
}
export const BOLLINGER_DEFAULTS: Readonly<BollingerBandsOptions> = Object.freeze({
  period: 20,
  stdDev: 2,
  mode: 'talib',
});

/** One Bollinger reading; the object is reused between updates. */
export interface BollingerBandsResult {
  upper: number;
  middle: number;
  lower: number;
}

/**
 * Bollinger Bands: SMA middle band ± `stdDev` population standard deviations.
 *
 * `talib` mode reproduces `TA_BBANDS` with an SMA bit for bit, including its weakness: on prices
 * far from zero, `E[x²] - E[x]²` cancels catastrophically (with prices near 100 and a window
 * variance near 1e-4 only ~8 digits survive), and variances below 1e-14 become 0. `exact` mode
 * computes the mean and the squared deviations in two passes and is accurate to a few ulps.
 * Lookback `period - 1`.
 */
export class BollingerBands extends IndicatorBase<number, BollingerBandsResult> {
  readonly label: string;
  readonly lookback: number;
  readonly period: number;
  readonly stdDev: number;
  readonly mode: BollingerMode;
  protected readonly kind = 'bollinger';
  protected readonly params: Record<string, number | string>;
  protected readonly scalarFields = [
    't1',
    't2',
    'mid',
    'sd',
    'pos',
    'uT1',
    'uT2',
    'uSlot',
    'uMid',
    'uSd',
  ] as const;
  protected readonly bufferFields = ['buf'] as const;
  private readonly buf: Float64Array;
  private readonly exact: boolean;
  private readonly result: BollingerBandsResult = { upper: NaN, middle: NaN, lower: NaN };
  private t1 = 0;
  private t2 = 0;
  private mid = NaN;
  private sd = NaN;
  private pos = 0;
  private uT1 = 0;
  private uT2 = 0;
  private uSlot = 0;
  private uMid = NaN;
  private uSd = NaN;

  constructor(options?: Partial<BollingerBandsOptions>) {
    super();
    const o = resolvePeriods('BollingerBands', BOLLINGER_DEFAULTS, options, { period: 1 });
    assertNumberOption('BollingerBands', 'stdDev', o.stdDev, 0);
    if (o.mode !== 'talib' && o.mode !== 'exact') {
      throw new OptionsError(
        `BollingerBands: option "mode" must be "talib" or "exact", got ${JSON.stringify(o.mode)}`,
      );
    }
    this.period = o.period;
    this.stdDev = o.stdDev;
    this.mode = o.mode;
    this.exact = o.mode === 'exact';
    this.lookback = o.period - 1;
    this.label = `bollinger(${o.period},${o.stdDev}${this.exact ? ',exact' : ''})`;
    this.params = { period: o.period, stdDev: o.stdDev, mode: o.mode };
    this.buf = new Float64Array(o.period);
  }

  add(x: number): void {
    if (!(x - x === 0)) {
      this.rejected++;
      return;
    }
    const buf = this.buf;
    let p = this.pos;
    this.uT1 = this.t1;
    this.uT2 = this.t2;
    this.uSlot = buf[p] ?? NaN;
    this.uMid = this.mid;
    this.uSd = this.sd;
    buf[p] = x;
    if (++p === buf.length) p = 0;
    this.pos = p;
    if (this.count >= this.lookback) {
      if (this.exact) {
        this.twoPass();
      } else {
        const s1 = this.t1 + x;
        const s2 = this.t2 + x * x;
        const mid = s1 / this.period;
        const v = s2 / this.period - mid * mid;
        // Hot path: a ring index below the buffer's length (unchecked read, no branch).
        const old = buf[p] ?? NaN;
        this.t1 = s1 - old;
        this.t2 = s2 - old * old;
        this.mid = mid;
        this.sd = v < TA_EPSILON ? 0 : Math.sqrt(v);
      }
    } else if (!this.exact) {
      this.t1 += x;
      this.t2 += x * x;
    }
    this.count++;
  }

  private twoPass(): void {
    const buf = this.buf;
    const n = buf.length;
    let s = 0;
    // Hot path: a ring index below the buffer's length (unchecked read, no branch).
    for (let i = 0; i < n; i++) s += buf[i] ?? NaN;
    const mean = s / n;
    let q = 0;
    for (let i = 0; i < n; i++) {
      // Hot path: a ring index below the buffer's length (unchecked read, no branch).
      const d = (buf[i] ?? NaN) - mean;
      q += d * d;
    }
    this.mid = mean;
    this.sd = Math.sqrt(q / n);
  }

  replace(x: number): void {
    if (this.count === 0 || !(x - x === 0)) {
      this.add(x);
      return;
    }
    let p = this.pos - 1;
    if (p < 0) p = this.buf.length - 1;
    this.pos = p;
    this.buf[p] = this.uSlot;
    this.t1 = this.uT1;
    this.t2 = this.uT2;
    this.mid = this.uMid;
    this.sd = this.uSd;
    this.count--;
    this.add(x);
  }

  getResult(): BollingerBandsResult | null {
    if (this.count <= this.lookback) return null;
    const r = this.result;
    const t = this.sd * this.stdDev;
    r.middle = this.mid;
    r.upper = this.mid + t;
    r.lower = this.mid - t;
    return r;
  }

  protected clear(): void {
    this.buf.fill(0);
    this.t1 = this.t2 = 0;
    this.mid = this.sd = NaN;
    this.pos = 0;
  }
}
