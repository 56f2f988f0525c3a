import { NumberIndicatorBase } from './base';
import { resolvePeriods } from '../options';
import { TA_EPSILON } from './talib';

export interface RSIOptions {
  /** Wilder smoothing period in inputs. @default 14 */
  period: number;
}
export const RSI_DEFAULTS: Readonly<RSIOptions> = Object.freeze({ period: 14 });

/**
 * Relative strength index with Wilder smoothing, as `TA_RSI`: the first average gain and loss are
 * plain means of the first `period` changes, then `avg = (avg * (period - 1) + change) / period`.
 * When average gain plus loss is zero (no movement) the RSI is 0, not 50. Lookback `period`.
 */
export class RSI extends NumberIndicatorBase<number> {
  readonly label: string;
  readonly lookback: number;
  readonly period: number;
  protected readonly kind = 'rsi';
  protected readonly params: Record<string, number>;
  protected readonly scalarFields = [
    'prev',
    'gain',
    'loss',
    'value',
    'uPrev',
    'uGain',
    'uLoss',
    'uValue',
  ] as const;
  protected readonly bufferFields = [] as const;
  private readonly n1: number;
  private prev = 0;
  private gain = 0;
  private loss = 0;
  private uPrev = 0;
  private uGain = 0;
  private uLoss = 0;
  private uValue = NaN;

  constructor(options?: Partial<RSIOptions>) {
    super();
    const o = resolvePeriods('RSI', RSI_DEFAULTS, options, { period: 2 });
    this.period = o.period;
    this.n1 = o.period - 1;
    this.lookback = o.period;
    this.label = `rsi(${o.period})`;
    this.params = { period: o.period };
  }

  add(x: number): void {
    if (!(x - x === 0)) {
      this.rejected++;
      return;
    }
    this.uPrev = this.prev;
    this.uGain = this.gain;
    this.uLoss = this.loss;
    this.uValue = this.value;
    const n = this.count;
    const d = x - this.prev;
    this.prev = x;
    this.count = n + 1;
    if (n > this.period) {
      let loss = this.loss * this.n1;
      let gain = this.gain * this.n1;
      if (d < 0) loss -= d;
      else gain += d;
      loss /= this.period;
      gain /= this.period;
      this.loss = loss;
      this.gain = gain;
      const t = gain + loss;
      this.value = -TA_EPSILON < t && t < TA_EPSILON ? 0 : 100 * (gain / t);
    } else if (n > 0) {
      if (d < 0) this.loss -= d;
      else this.gain += d;
      if (n === this.period) {
        const gain = (this.gain /= this.period);
        const loss = (this.loss /= this.period);
        const t = gain + loss;
        this.value = -TA_EPSILON < t && t < TA_EPSILON ? 0 : 100 * (gain / t);
      }
    }
  }

  replace(x: number): void {
    if (this.count === 0 || !(x - x === 0)) {
      this.add(x);
      return;
    }
    this.prev = this.uPrev;
    this.gain = this.uGain;
    this.loss = this.uLoss;
    this.value = this.uValue;
    this.count--;
    this.add(x);
  }

  protected clear(): void {
    this.prev = 0;
    this.gain = 0;
    this.loss = 0;
    this.value = NaN;
  }
}
