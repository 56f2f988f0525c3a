import { TIMEFRAME_MS, type Timeframe, alignTs } from '@pipeline/core';
import { type FeatureBar } from './feature-set';

/** State of one resampler, plain JSON (part of the engine snapshot; null stands for ±Infinity/NaN). */
export interface ResamplerState {
  /** Open time of the higher bar being built, epoch ms. */
  ts: number | null;
  open: number | null;
  /** High, low and volume of the base bars of this higher bar that are already closed. */
  closedHigh: number | null;
  closedLow: number | null;
  closedVolume: number;
  /** The latest (forming) base bar folded into the higher bar. */
  hasBase: boolean;
  baseHigh: number;
  baseLow: number;
  baseClose: number;
  baseVolume: number;
}

/**
 * Builds one higher timeframe from base bars, UTC-aligned (`alignTs`). The higher bar is the closed
 * base bars of its period plus the latest base bar; a replaced base bar only changes that last part,
 * so any number of replacements cost O(1), allocate nothing and never double-count volume.
 */
export class Resampler {
  readonly timeframe: Timeframe;
  /** The current higher bar (reused object). */
  readonly bar: FeatureBar = { ts: NaN, open: NaN, high: NaN, low: NaN, close: NaN, volume: NaN };
  private ts = NaN;
  private open = NaN;
  private closedHigh = -Infinity;
  private closedLow = Infinity;
  private closedVolume = 0;
  private hasBase = false;
  private baseHigh = 0;
  private baseLow = 0;
  private baseClose = 0;
  private baseVolume = 0;

  private readonly ms: number;

  constructor(timeframe: Timeframe) {
    this.timeframe = timeframe;
    this.ms = TIMEFRAME_MS[timeframe];
  }

  /** True when a base bar at `ts` would start a new higher bar. */
  startsNew(ts: number): boolean {
    return !(ts >= this.ts && ts < this.ts + this.ms);
  }

  /**
   * Folds a base bar in; `replace` is true when it replaces the previous base bar (same ts).
   * Returns true when the higher bar is new (indicators must `add`), false when it changed (`replace`).
   */
  push(b: FeatureBar, replace: boolean): boolean {
    // Most base bars fall in the current higher bar: skip alignTs (two float modulos) for them.
    const t = b.ts;
    const ts = t >= this.ts && t < this.ts + this.ms ? this.ts : alignTs(t, this.timeframe);
    let isNew = false;
    if (ts !== this.ts) {
      this.ts = ts;
      this.open = b.open;
      this.closedHigh = -Infinity;
      this.closedLow = Infinity;
      this.closedVolume = 0;
      isNew = true;
    } else if (!replace && this.hasBase) {
      // A new base bar in the same period: the previous one is closed now.
      if (this.baseHigh > this.closedHigh) this.closedHigh = this.baseHigh;
      if (this.baseLow < this.closedLow) this.closedLow = this.baseLow;
      this.closedVolume += this.baseVolume;
    }
    this.hasBase = true;
    this.baseHigh = b.high;
    this.baseLow = b.low;
    this.baseClose = b.close;
    this.baseVolume = b.volume;
    this.fill();
    return isNew;
  }

  private fill(): void {
    const out = this.bar;
    out.ts = this.ts;
    out.open = this.open;
    out.high = this.baseHigh > this.closedHigh ? this.baseHigh : this.closedHigh;
    out.low = this.baseLow < this.closedLow ? this.baseLow : this.closedLow;
    out.close = this.baseClose;
    out.volume = this.closedVolume + this.baseVolume;
  }

  state(): ResamplerState {
    const n = (x: number): number | null => (Number.isFinite(x) ? x : null);
    return {
      ts: n(this.ts),
      open: n(this.open),
      closedHigh: n(this.closedHigh),
      closedLow: n(this.closedLow),
      closedVolume: this.closedVolume,
      hasBase: this.hasBase,
      baseHigh: this.baseHigh,
      baseLow: this.baseLow,
      baseClose: this.baseClose,
      baseVolume: this.baseVolume,
    };
  }

  load(s: ResamplerState): void {
    this.ts = s.ts ?? NaN;
    this.open = s.open ?? NaN;
    this.closedHigh = s.closedHigh ?? -Infinity;
    this.closedLow = s.closedLow ?? Infinity;
    this.closedVolume = s.closedVolume;
    this.hasBase = s.hasBase;
    this.baseHigh = s.baseHigh;
    this.baseLow = s.baseLow;
    this.baseClose = s.baseClose;
    this.baseVolume = s.baseVolume;
    if (this.hasBase) this.fill();
  }
}
