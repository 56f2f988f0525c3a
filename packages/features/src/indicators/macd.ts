import { OptionsError } from '@pipeline/core';
import { IndicatorBase } from './base';
import { resolvePeriods } from '../options';

export interface MACDOptions {
  /** Fast EMA period in inputs. @default 12 */
  fast: number;
  /** Slow EMA period in inputs; must be greater than `fast`. @default 26 */
  slow: number;
  /** Signal EMA period, in MACD values. @default 9 */
  signal: number;
}
export const MACD_DEFAULTS: Readonly<MACDOptions> = Object.freeze({ fast: 12, slow: 26, signal: 9 });

/** One MACD reading; the object is reused between updates. */
export interface MACDResult {
  macd: number;
  signal: number;
  histogram: number;
}

/**
 * MACD as `TA_MACD`: both EMAs use `k = 2 / (period + 1)`; the slow EMA is seeded with the SMA of
 * the first `slow` inputs and the fast EMA is seeded at the same bar with the SMA of the `fast`
 * inputs ending there (not at bar `fast - 1`). The signal EMA is seeded with the SMA of the first
 * `signal` MACD values. Every output starts at lookback `slow - 1 + signal - 1` (33 for 12/26/9).
 */
export class MACD extends IndicatorBase<number, MACDResult> {
  readonly label: string;
  readonly lookback: number;
  readonly fast: number;
  readonly slow: number;
  readonly signal: number;
  protected readonly kind = 'macd';
  protected readonly params: Record<string, number>;
  protected readonly scalarFields = [
    'slowSum',
    'fastSum',
    'sigSum',
    'slowEma',
    'fastEma',
    'sig',
    'uSlowSum',
    'uFastSum',
    'uSigSum',
    'uSlowEma',
    'uFastEma',
    'uSig',
  ] as const;
  protected readonly bufferFields = [] as const;
  private readonly kFast: number;
  private readonly kSlow: number;
  private readonly kSig: number;
  /** Index of the first input of the fast EMA's seed window. */
  private readonly fastStart: number;
  private readonly result: MACDResult = { macd: NaN, signal: NaN, histogram: NaN };
  private slowSum = 0;
  private fastSum = 0;
  private sigSum = 0;
  private slowEma = NaN;
  private fastEma = NaN;
  private sig = NaN;
  private uSlowSum = 0;
  private uFastSum = 0;
  private uSigSum = 0;
  private uSlowEma = NaN;
  private uFastEma = NaN;
  private uSig = NaN;

  constructor(options?: Partial<MACDOptions>) {
    super();
    const o = resolvePeriods('MACD', MACD_DEFAULTS, options, { fast: 1, slow: 2, signal: 1 });
    if (o.fast >= o.slow) {
      throw new OptionsError(`MACD: option "fast" (${o.fast}) must be less than "slow" (${o.slow})`);
    }
    this.fast = o.fast;
    this.slow = o.slow;
    this.signal = o.signal;
    this.kFast = 2 / (o.fast + 1);
    this.kSlow = 2 / (o.slow + 1);
    this.kSig = 2 / (o.signal + 1);
    this.fastStart = o.slow - o.fast;
    this.lookback = o.slow - 1 + o.signal - 1;
    this.label = `macd(${o.fast},${o.slow},${o.signal})`;
    this.params = { fast: o.fast, slow: o.slow, signal: o.signal };
  }

  add(x: number): void {
    if (!(x - x === 0)) {
      this.rejected++;
      return;
    }
    this.uSlowSum = this.slowSum;
    this.uFastSum = this.fastSum;
    this.uSigSum = this.sigSum;
    this.uSlowEma = this.slowEma;
    this.uFastEma = this.fastEma;
    this.uSig = this.sig;
    const n = this.count;
    const seedAt = this.slow - 1;
    this.count = n + 1;
    if (n > seedAt) {
      this.slowEma = (x - this.slowEma) * this.kSlow + this.slowEma;
      this.fastEma = (x - this.fastEma) * this.kFast + this.fastEma;
    } else {
      this.slowSum += x;
      if (n >= this.fastStart) this.fastSum += x;
      if (n < seedAt) return;
      this.slowEma = this.slowSum / this.slow;
      this.fastEma = this.fastSum / this.fast;
    }
    const m = this.fastEma - this.slowEma;
    // m is the (n - seedAt)-th MACD value (0-based); the signal EMA is seeded over the first `signal`.
    const j = n - seedAt;
    if (j >= this.signal) {
      this.sig = (m - this.sig) * this.kSig + this.sig;
    } else {
      this.sigSum += m;
      if (j === this.signal - 1) this.sig = this.sigSum / this.signal;
    }
  }

  replace(x: number): void {
    if (this.count === 0 || !(x - x === 0)) {
      this.add(x);
      return;
    }
    this.slowSum = this.uSlowSum;
    this.fastSum = this.uFastSum;
    this.sigSum = this.uSigSum;
    this.slowEma = this.uSlowEma;
    this.fastEma = this.uFastEma;
    this.sig = this.uSig;
    this.count--;
    this.add(x);
  }

  getResult(): MACDResult | null {
    if (this.count <= this.lookback) return null;
    // Recomputed from state so a restored indicator answers without a new input.
    const r = this.result;
    r.macd = this.fastEma - this.slowEma;
    r.signal = this.sig;
    r.histogram = r.macd - this.sig;
    return r;
  }

  protected clear(): void {
    this.slowSum = this.fastSum = this.sigSum = 0;
    this.slowEma = this.fastEma = this.sig = NaN;
  }
}
