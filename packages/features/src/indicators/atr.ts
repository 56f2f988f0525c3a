import { NumberIndicatorBase } from './base';
import { resolvePeriods } from '../options';
import { type HLC } from './inputs';

export interface ATROptions {
  /** Wilder smoothing period in bars. @default 14 */
  period: number;
}
export const ATR_DEFAULTS: Readonly<ATROptions> = Object.freeze({ period: 14 });

/**
 * Average true range as `TA_ATR`: the true range exists from the second bar (it needs the previous
 * close); the first ATR is the mean of the first `period` true ranges, then Wilder's
 * `atr = (atr * (period - 1) + tr) / period`. Lookback `period`.
 */
export class ATR extends NumberIndicatorBase<HLC> {
  readonly label: string;
  readonly lookback: number;
  readonly period: number;
  protected readonly kind = 'atr';
  protected readonly params: Record<string, number>;
  protected readonly scalarFields = ['prevClose', 'sum', 'value', 'uPrevClose', 'uSum', 'uValue'] as const;
  protected readonly bufferFields = [] as const;
  private readonly n1: number;
  private prevClose = 0;
  private sum = 0;
  private uPrevClose = 0;
  private uSum = 0;
  private uValue = NaN;

  constructor(options?: Partial<ATROptions>) {
    super();
    const o = resolvePeriods('ATR', ATR_DEFAULTS, options, { period: 1 });
    this.period = o.period;
    this.n1 = o.period - 1;
    this.lookback = o.period;
    this.label = `atr(${o.period})`;
    this.params = { period: o.period };
  }

  add(bar: HLC): void {
    this.addValues(bar.high, bar.low, bar.close);
  }

  replace(bar: HLC): void {
    this.replaceValues(bar.high, bar.low, bar.close);
  }

  /** `add` without the object, for callers that hold columns. */
  addValues(high: number, low: number, close: number): void {
    if (!(high - high === 0 && low - low === 0 && close - close === 0)) {
      this.rejected++;
      return;
    }
    this.uPrevClose = this.prevClose;
    this.uSum = this.sum;
    this.uValue = this.value;
    const n = this.count;
    this.count = n + 1;
    const pc = this.prevClose;
    this.prevClose = close;
    if (n === 0) return;
    let tr = high - low;
    const a = Math.abs(pc - high);
    if (a > tr) tr = a;
    const b = Math.abs(pc - low);
    if (b > tr) tr = b;
    if (n > this.period) {
      this.value = (this.value * this.n1 + tr) / this.period;
    } else {
      this.sum += tr;
      if (n === this.period) this.value = this.sum / this.period;
    }
  }

  replaceValues(high: number, low: number, close: number): void {
    if (this.count === 0 || !(high - high === 0 && low - low === 0 && close - close === 0)) {
      this.addValues(high, low, close);
      return;
    }
    this.prevClose = this.uPrevClose;
    this.sum = this.uSum;
    this.value = this.uValue;
    this.count--;
    this.addValues(high, low, close);
  }

  protected clear(): void {
    this.prevClose = 0;
    this.sum = 0;
    this.value = NaN;
  }
}
