import { IndicatorBase } from './base';
import { resolvePeriods } from '../options';
import { type HLC } from './inputs';
import { TA_EPSILON } from './talib';

export interface ADXOptions {
  /** Wilder smoothing period in bars (DM, TR and ADX). @default 14 */
  period: number;
}
export const ADX_DEFAULTS: Readonly<ADXOptions> = Object.freeze({ period: 14 });

/** One ADX reading; the object is reused between updates. */
export interface ADXResult {
  adx: number;
  /** +DI, 0..100 (`TA_PLUS_DI`). */
  plusDI: number;
  /** -DI, 0..100 (`TA_MINUS_DI`). */
  minusDI: number;
}

/**
 * ADX with +DI and -DI as `TA_ADX`, `TA_PLUS_DI` and `TA_MINUS_DI`:
 * - a move counts as +DM only when the up move is positive and larger than the down move, as -DM
 *   only when the down move is positive and larger; equal up and down moves count as neither;
 * - DM and TR are Wilder sums: the first `period - 1` moves are added, then
 *   `s = s - s / period + x`; DI = 100 * DM / TR (0 while TR is zero);
 * - the first ADX (bar `2 * period - 1`) is the mean of the first `period` DX values, then
 *   `adx = (adx * (period - 1) + dx) / period`; bars whose TR or DI sum is zero leave the ADX unchanged.
 *
 * Lookback `2 * period - 1` (27 for 14); DI alone would be valid from bar `period`.
 */
export class ADX extends IndicatorBase<HLC, ADXResult> {
  readonly label: string;
  readonly lookback: number;
  readonly period: number;
  protected readonly kind = 'adx';
  protected readonly params: Record<string, number>;
  protected readonly scalarFields = [
    'pHigh',
    'pLow',
    'pClose',
    'pDM',
    'mDM',
    'tr',
    'sumDX',
    'adx',
    'uHigh',
    'uLow',
    'uClose',
    'uPDM',
    'uMDM',
    'uTr',
    'uSumDX',
    'uAdx',
  ] as const;
  protected readonly bufferFields = [] as const;
  private readonly n1: number;
  private readonly result: ADXResult = { adx: NaN, plusDI: NaN, minusDI: NaN };
  private pHigh = 0;
  private pLow = 0;
  private pClose = 0;
  private pDM = 0;
  private mDM = 0;
  private tr = 0;
  private sumDX = 0;
  private adx = NaN;
  private uHigh = 0;
  private uLow = 0;
  private uClose = 0;
  private uPDM = 0;
  private uMDM = 0;
  private uTr = 0;
  private uSumDX = 0;
  private uAdx = NaN;

  constructor(options?: Partial<ADXOptions>) {
    super();
    const o = resolvePeriods('ADX', ADX_DEFAULTS, options, { period: 2 });
    this.period = o.period;
    this.n1 = o.period - 1;
    this.lookback = 2 * o.period - 1;
    this.label = `adx(${o.period})`;
    this.params = { period: o.period };
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
    this.uHigh = this.pHigh;
    this.uLow = this.pLow;
    this.uClose = this.pClose;
    this.uPDM = this.pDM;
    this.uMDM = this.mDM;
    this.uTr = this.tr;
    this.uSumDX = this.sumDX;
    this.uAdx = this.adx;
    const n = this.count;
    this.count = n + 1;
    const N = this.period;
    const diffP = high - this.pHigh;
    const diffM = this.pLow - low;
    const pc = this.pClose;
    this.pHigh = high;
    this.pLow = low;
    this.pClose = close;
    if (n === 0) return;
    let tr = high - low;
    const a = Math.abs(high - pc);
    if (a > tr) tr = a;
    const b = Math.abs(low - pc);
    if (b > tr) tr = b;
    if (n < N) {
      if (diffM > 0 && diffP < diffM) this.mDM += diffM;
      else if (diffP > 0 && diffP > diffM) this.pDM += diffP;
      this.tr += tr;
      return;
    }
    let mdm = this.mDM;
    let pdm = this.pDM;
    mdm -= mdm / N;
    pdm -= pdm / N;
    if (diffM > 0 && diffP < diffM) mdm += diffM;
    else if (diffP > 0 && diffP > diffM) pdm += diffP;
    this.mDM = mdm;
    this.pDM = pdm;
    const t = this.tr - this.tr / N + tr;
    this.tr = t;
    // One DX computation for all three phases keeps this method small enough for V8 to inline.
    let dx = 0;
    let has = false;
    if (!(-TA_EPSILON < t && t < TA_EPSILON)) {
      const mdi = 100 * (mdm / t);
      const pdi = 100 * (pdm / t);
      const s = mdi + pdi;
      if (!(-TA_EPSILON < s && s < TA_EPSILON)) {
        dx = 100 * (Math.abs(mdi - pdi) / s);
        has = true;
      }
    }
    if (n > this.lookback) {
      if (has) this.adx = (this.adx * this.n1 + dx) / N;
    } else {
      if (has) this.sumDX += dx;
      if (n === this.lookback) this.adx = this.sumDX / N;
    }
  }

  replaceValues(high: number, low: number, close: number): void {
    if (this.count === 0 || !(high - high === 0 && low - low === 0 && close - close === 0)) {
      this.addValues(high, low, close);
      return;
    }
    this.pHigh = this.uHigh;
    this.pLow = this.uLow;
    this.pClose = this.uClose;
    this.pDM = this.uPDM;
    this.mDM = this.uMDM;
    this.tr = this.uTr;
    this.sumDX = this.uSumDX;
    this.adx = this.uAdx;
    this.count--;
    this.addValues(high, low, close);
  }

  /** +DI and -DI are valid from bar `period` (`count > period`); null before. */
  getDI(): ADXResult | null {
    if (this.count <= this.period) return null;
    const r = this.result;
    const t = this.tr;
    const zero = -TA_EPSILON < t && t < TA_EPSILON;
    r.plusDI = zero ? 0 : 100 * (this.pDM / t);
    r.minusDI = zero ? 0 : 100 * (this.mDM / t);
    r.adx = this.count > this.lookback ? this.adx : NaN;
    return r;
  }

  getResult(): ADXResult | null {
    return this.count > this.lookback ? this.getDI() : null;
  }

  protected clear(): void {
    this.pHigh = this.pLow = this.pClose = 0;
    this.pDM = this.mDM = this.tr = this.sumDX = 0;
    this.adx = NaN;
  }
}
