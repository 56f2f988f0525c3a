import { NumberIndicatorBase } from './base';
import { resolvePeriods } from '../options';

export interface EMAOptions {
  /** Smoothing period in inputs; the weight of a new input is `2 / (period + 1)`. @default 12 */
  period: number;
}
export const EMA_DEFAULTS: Readonly<EMAOptions> = Object.freeze({ period: 12 });

/**
 * Exponential moving average with TA-Lib's default seeding: the first value is the SMA of the first
 * `period` inputs, then `ema += (x - ema) * k`. Lookback `period - 1`.
 */
export class EMA extends NumberIndicatorBase<number> {
  readonly label: string;
  readonly lookback: number;
  readonly period: number;
  protected readonly kind = 'ema';
  protected readonly params: Record<string, number>;
  protected readonly scalarFields = ['sum', 'value', 'uSum', 'uValue'] as const;
  protected readonly bufferFields = [] as const;
  private readonly k: number;
  private sum = 0;
  private uSum = 0;
  private uValue = NaN;

  constructor(options?: Partial<EMAOptions>) {
    super();
    const o = resolvePeriods('EMA', EMA_DEFAULTS, options, { period: 1 });
    this.period = o.period;
    this.lookback = o.period - 1;
    this.k = 2 / (o.period + 1);
    this.label = `ema(${o.period})`;
    this.params = { period: o.period };
  }

  add(x: number): void {
    if (!(x - x === 0)) {
      this.rejected++;
      return;
    }
    this.uSum = this.sum;
    this.uValue = this.value;
    const n = this.count;
    if (n > this.lookback) {
      this.value = (x - this.value) * this.k + this.value;
    } else {
      const s = this.sum + x;
      this.sum = s;
      if (n === this.lookback) this.value = s / this.period;
    }
    this.count = n + 1;
  }

  replace(x: number): void {
    if (this.count === 0 || !(x - x === 0)) {
      this.add(x);
      return;
    }
    this.sum = this.uSum;
    this.value = this.uValue;
    this.count--;
    this.add(x);
  }

  protected clear(): void {
    this.sum = 0;
    this.value = NaN;
  }
}
