// The two shapes validateSeries accepts (rows of bars, or columns) checked up front, and the reference
// series for the disagreement rule read with a forward-only cursor matched by ts.
import { isTimeframe, redactText, type Bar } from '@pipeline/core';
import { SeriesShapeError } from './errors';
import { type BarColumns } from './types';

const COLUMNS = ['ts', 'open', 'high', 'low', 'close', 'volume'] as const;

/** Throws SeriesShapeError unless `cols` is a complete, equally long set of columns; returns the length. */
export function checkColumns(cols: BarColumns): number {
  if (typeof cols !== 'object')
    throw new SeriesShapeError(
      'series',
      `expected an array of bars or columns, got ${redactText(String(cols))}`,
    );
  const n = cols.ts?.length;
  for (const field of COLUMNS) {
    if (cols[field] === undefined || cols[field].length !== n) {
      throw new SeriesShapeError(
        field,
        `column "${field}" has length ${cols[field]?.length} but "ts" has ${n}`,
      );
    }
  }
  if (cols.final !== undefined && cols.final.length !== n) {
    throw new SeriesShapeError('final', `column "final" has length ${cols.final.length} but "ts" has ${n}`);
  }
  if (typeof cols.symbol !== 'string' || cols.symbol.length === 0) {
    throw new SeriesShapeError(
      'symbol',
      `symbol must be a non-empty string, got ${redactText(String(JSON.stringify(cols.symbol)))}`,
    );
  }
  if (!isTimeframe(cols.timeframe))
    throw new SeriesShapeError(
      'timeframe',
      `unknown timeframe ${redactText(String(JSON.stringify(cols.timeframe)))}`,
    );
  return n;
}

/** Open, high, low and close of the reference bar at one ts; NaN where there is none. */
export class ReferenceCursor {
  open = NaN;
  high = NaN;
  low = NaN;
  close = NaN;
  private readonly cols: BarColumns | null;
  private readonly rows: readonly Bar[] | null;
  private readonly length: number;
  private pos = 0;

  constructor(reference: readonly Bar[] | BarColumns | undefined) {
    this.cols = reference === undefined || Array.isArray(reference) ? null : (reference as BarColumns);
    this.rows = reference !== undefined && Array.isArray(reference) ? (reference as readonly Bar[]) : null;
    this.length = this.cols ? this.cols.ts.length : this.rows ? this.rows.length : 0;
  }

  private tsAt(j: number): number {
    return this.cols ? (this.cols.ts[j] ?? NaN) : (this.rows?.[j]?.ts ?? NaN);
  }

  /** Moves to `ts` (ascending calls only) and loads that bar's prices, or NaN when the reference lacks it. */
  seek(ts: number): void {
    this.open = this.high = this.low = this.close = NaN;
    if (this.length === 0) return;
    while (this.pos < this.length && this.tsAt(this.pos) < ts) this.pos++;
    if (this.pos >= this.length || this.tsAt(this.pos) !== ts) return;
    if (this.cols) {
      this.open = this.cols.open[this.pos] ?? NaN;
      this.high = this.cols.high[this.pos] ?? NaN;
      this.low = this.cols.low[this.pos] ?? NaN;
      this.close = this.cols.close[this.pos] ?? NaN;
    } else {
      const r = this.rows?.[this.pos];
      if (r === undefined) return;
      this.open = r.open;
      this.high = r.high;
      this.low = r.low;
      this.close = r.close;
    }
  }
}
