import { NumberIndicatorBase } from './base';
import { resolveOptions } from '@pipeline/core';
import { type CloseVolume } from './inputs';

/** OBV has no parameters; the interface exists so every indicator takes the same kind of options. */
export type OBVOptions = Record<string, never>;
export const OBV_DEFAULTS: Readonly<OBVOptions> = Object.freeze({});

/**
 * On-balance volume as `TA_OBV`: starts at the first bar's volume (not 0), then adds the volume on
 * an up close, subtracts it on a down close and keeps it on an unchanged close. Lookback 0.
 */
export class OBV extends NumberIndicatorBase<CloseVolume> {
  readonly label = 'obv';
  readonly lookback = 0;
  protected readonly kind = 'obv';
  protected readonly params: Record<string, number> = {};
  protected readonly scalarFields = ['prevClose', 'value', 'uPrevClose', 'uValue'] as const;
  protected readonly bufferFields = [] as const;
  private prevClose = 0;
  private uPrevClose = 0;
  private uValue = NaN;

  constructor(options?: Partial<OBVOptions>) {
    super();
    resolveOptions('OBV', OBV_DEFAULTS, options);
  }

  add(bar: CloseVolume): void {
    this.addValues(bar.close, bar.volume);
  }

  replace(bar: CloseVolume): void {
    this.replaceValues(bar.close, bar.volume);
  }

  addValues(close: number, volume: number): void {
    if (!(close - close === 0 && volume - volume === 0)) {
      this.rejected++;
      return;
    }
    this.uPrevClose = this.prevClose;
    this.uValue = this.value;
    if (this.count === 0) this.value = volume;
    else if (close > this.prevClose) this.value += volume;
    else if (close < this.prevClose) this.value -= volume;
    this.prevClose = close;
    this.count++;
  }

  replaceValues(close: number, volume: number): void {
    if (this.count === 0 || !(close - close === 0 && volume - volume === 0)) {
      this.addValues(close, volume);
      return;
    }
    this.prevClose = this.uPrevClose;
    this.value = this.uValue;
    this.count--;
    this.addValues(close, volume);
  }

  protected clear(): void {
    this.prevClose = 0;
    this.value = NaN;
  }
}
