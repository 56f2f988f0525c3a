import { NumberIndicatorBase } from './base';
import { resolvePeriods } from '../options';

export interface SMAOptions {
  /** Window length in inputs. @default 20 */
  period: number;
}
export const SMA_DEFAULTS: Readonly<SMAOptions> = Object.freeze({ period: 20 });

/**
 * Simple moving average, TA-Lib's running-sum form: the kept total is the sum of the last
 * `period - 1` inputs, the new input is added, the total divided, then the oldest input of the
 * window subtracted. Summing in this order keeps the result bit-identical to `TA_SMA`.
 * Lookback `period - 1`.
 */
export class SMA extends NumberIndicatorBase<number> {
  readonly label: string;
  readonly lookback: number;
  readonly period: number;
  protected readonly kind = 'sma';
  protected readonly params: Record<string, number>;
  protected readonly scalarFields = ['total', 'value', 'pos', 'uTotal', 'uSlot', 'uValue'] as const;
  protected readonly bufferFields = ['buf'] as const;
  private readonly buf: Float64Array;
  private total = 0;
  private pos = 0;
  private uTotal = 0;
  private uSlot = 0;
  private uValue = NaN;

  constructor(options?: Partial<SMAOptions>) {
    super();
    const o = resolvePeriods('SMA', SMA_DEFAULTS, options, { period: 1 });
    this.period = o.period;
    this.lookback = o.period - 1;
    this.label = `sma(${o.period})`;
    this.params = { period: o.period };
    this.buf = new Float64Array(o.period);
  }

  add(x: number): void {
    if (!(x - x === 0)) {
      this.rejected++;
      return;
    }
    const buf = this.buf;
    let p = this.pos;
    this.uTotal = this.total;
    this.uSlot = buf[p] ?? NaN;
    this.uValue = this.value;
    buf[p] = x;
    if (++p === buf.length) p = 0;
    this.pos = p;
    if (this.count >= this.lookback) {
      const s = this.total + x;
      this.value = s / this.period;
      // After the write, slot p holds the oldest input of the current window.
      // Hot path: a ring index below the buffer's length (unchecked read, no branch).
      this.total = s - (buf[p] ?? NaN);
    } else {
      this.total += x;
    }
    this.count++;
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
    this.total = this.uTotal;
    this.value = this.uValue;
    this.count--;
    this.add(x);
  }

  protected clear(): void {
    this.buf.fill(0);
    this.total = 0;
    this.value = NaN;
    this.pos = 0;
  }
}
