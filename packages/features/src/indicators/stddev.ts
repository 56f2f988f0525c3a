import { NumberIndicatorBase } from './base';
import { resolvePeriods } from '../options';
import { TA_EPSILON } from './talib';
import { assertNumberOption } from '@pipeline/core';

export interface StdDevOptions {
  /** Window length in inputs. @default 20 */
  period: number;
  /** Multiplier applied to the deviation. @default 1 */
  multiplier: number;
}
export const STDDEV_DEFAULTS: Readonly<StdDevOptions> = Object.freeze({ period: 20, multiplier: 1 });

/**
 * Rolling population standard deviation as `TA_STDDEV`: running sums of x and x² (TA-Lib's order),
 * variance `E[x²] - E[x]²`, and 0 whenever that variance is below 1e-14 (TA_IS_ZERO_OR_NEG), which
 * also absorbs the small negative values cancellation can produce on flat windows. Lookback `period - 1`.
 */
export class StdDev extends NumberIndicatorBase<number> {
  readonly label: string;
  readonly lookback: number;
  readonly period: number;
  readonly multiplier: number;
  protected readonly kind = 'stddev';
  protected readonly params: Record<string, number>;
  protected readonly scalarFields = ['t1', 't2', 'value', 'pos', 'uT1', 'uT2', 'uSlot', 'uValue'] as const;
  protected readonly bufferFields = ['buf'] as const;
  private readonly buf: Float64Array;
  private t1 = 0;
  private t2 = 0;
  private pos = 0;
  private uT1 = 0;
  private uT2 = 0;
  private uSlot = 0;
  private uValue = NaN;

  constructor(options?: Partial<StdDevOptions>) {
    super();
    const o = resolvePeriods('StdDev', STDDEV_DEFAULTS, options, { period: 1 });
    assertNumberOption('StdDev', 'multiplier', o.multiplier, 0);
    this.period = o.period;
    this.multiplier = o.multiplier;
    this.lookback = o.period - 1;
    this.label = `stddev(${o.period},${o.multiplier})`;
    this.params = { period: o.period, multiplier: o.multiplier };
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
    this.uValue = this.value;
    buf[p] = x;
    if (++p === buf.length) p = 0;
    this.pos = p;
    if (this.count >= this.lookback) {
      const s1 = this.t1 + x;
      const s2 = this.t2 + x * x;
      const m1 = s1 / this.period;
      const m2 = s2 / this.period;
      // Hot path: a ring index below the buffer's length (unchecked read, no branch).
      const old = buf[p] ?? NaN;
      this.t1 = s1 - old;
      this.t2 = s2 - old * old;
      const v = m2 - m1 * m1;
      this.value = v < TA_EPSILON ? 0 : Math.sqrt(v) * this.multiplier;
    } else {
      this.t1 += x;
      this.t2 += x * x;
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
    this.t1 = this.uT1;
    this.t2 = this.uT2;
    this.value = this.uValue;
    this.count--;
    this.add(x);
  }

  protected clear(): void {
    this.buf.fill(0);
    this.t1 = this.t2 = 0;
    this.value = NaN;
    this.pos = 0;
  }
}
