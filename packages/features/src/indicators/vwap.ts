import { resolveOptions } from '@pipeline/core';
import { IndicatorBase } from './base';
import { type VWAPInput } from './inputs';
import { SessionCalendar } from './session';

export interface VWAPOptions {
  /** Local wall-clock time at which a session (and the VWAP) starts, `HH:MM`. @default '00:00' */
  sessionStart: string;
  /** IANA time zone of `sessionStart`, e.g. `America/New_York` (DST-aware). @default 'UTC' */
  timeZone: string;
}
export const VWAP_DEFAULTS: Readonly<VWAPOptions> = Object.freeze({ sessionStart: '00:00', timeZone: 'UTC' });

/**
 * Session-anchored volume-weighted average price of the typical price `(high + low + close) / 3`.
 * Sums restart at every session start. Both sums use Neumaier compensated summation, so the value
 * stays within about one ulp of the exact cumulative ratio however long the session. Not in TA-Lib.
 * Lookback 0, but the result is null while the session's volume is 0 (FX feeds without volume).
 */
export class VWAP extends IndicatorBase<VWAPInput, number> {
  readonly label: string;
  readonly lookback = 0;
  protected readonly kind = 'vwap';
  protected readonly params: Record<string, string>;
  protected readonly scalarFields = [
    'start',
    'end',
    'pv',
    'pvc',
    'v',
    'vc',
    'uStart',
    'uEnd',
    'uPv',
    'uPvc',
    'uV',
    'uVc',
  ] as const;
  protected readonly bufferFields = [] as const;
  private readonly calendar: SessionCalendar;
  /** Current session bounds, epoch ms; an empty range forces a lookup on the first bar. */
  private start = 0;
  private end = 0;
  private pv = 0;
  private pvc = 0;
  private v = 0;
  private vc = 0;
  private uStart = 0;
  private uEnd = 0;
  private uPv = 0;
  private uPvc = 0;
  private uV = 0;
  private uVc = 0;

  constructor(options?: Partial<VWAPOptions>) {
    super();
    const o = resolveOptions('VWAP', VWAP_DEFAULTS, options);
    this.calendar = new SessionCalendar('VWAP', o.sessionStart, o.timeZone);
    this.label = `vwap(${o.sessionStart} ${o.timeZone})`;
    this.params = { sessionStart: o.sessionStart, timeZone: o.timeZone };
  }

  add(bar: VWAPInput): void {
    this.addValues(bar.ts, bar.high, bar.low, bar.close, bar.volume);
  }

  replace(bar: VWAPInput): void {
    this.replaceValues(bar.ts, bar.high, bar.low, bar.close, bar.volume);
  }

  addValues(ts: number, high: number, low: number, close: number, volume: number): void {
    if (!(
      ts - ts === 0 &&
      high - high === 0 &&
      low - low === 0 &&
      close - close === 0 &&
      volume - volume === 0
    )) {
      this.rejected++;
      return;
    }
    this.uStart = this.start;
    this.uEnd = this.end;
    this.uPv = this.pv;
    this.uPvc = this.pvc;
    this.uV = this.v;
    this.uVc = this.vc;
    if (ts >= this.end || ts < this.start) {
      const s = this.calendar.sessionOf(ts);
      if (s.start !== this.start) {
        this.pv = this.pvc = this.v = this.vc = 0;
      }
      this.start = s.start;
      this.end = s.end;
    }
    const x = ((high + low + close) / 3) * volume;
    // Neumaier: keep the low-order bits lost by each addition in a compensation term.
    let s = this.pv;
    let t = s + x;
    this.pvc += Math.abs(s) >= Math.abs(x) ? s - t + x : x - t + s;
    this.pv = t;
    s = this.v;
    t = s + volume;
    this.vc += Math.abs(s) >= Math.abs(volume) ? s - t + volume : volume - t + s;
    this.v = t;
    this.count++;
  }

  replaceValues(ts: number, high: number, low: number, close: number, volume: number): void {
    if (
      this.count === 0 ||
      !(ts - ts === 0 && high - high === 0 && low - low === 0 && close - close === 0 && volume - volume === 0)
    ) {
      this.addValues(ts, high, low, close, volume);
      return;
    }
    this.start = this.uStart;
    this.end = this.uEnd;
    this.pv = this.uPv;
    this.pvc = this.uPvc;
    this.v = this.uV;
    this.vc = this.uVc;
    this.count--;
    this.addValues(ts, high, low, close, volume);
  }

  /** Start of the current session, epoch ms (NaN before the first bar). */
  get sessionStartTs(): number {
    return this.count > 0 ? this.start : NaN;
  }

  override isStable(): boolean {
    return this.count > 0 && this.v + this.vc > 0;
  }

  getResult(): number | null {
    const v = this.v + this.vc;
    return this.count > 0 && v > 0 ? (this.pv + this.pvc) / v : null;
  }

  /** The latest value or NaN while the session has no volume, without the null check. */
  valueOrNaN(): number {
    const v = this.v + this.vc;
    return this.count > 0 && v > 0 ? (this.pv + this.pvc) / v : NaN;
  }

  protected clear(): void {
    this.start = this.end = 0;
    this.pv = this.pvc = this.v = this.vc = 0;
  }
}
