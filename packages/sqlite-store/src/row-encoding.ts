// How bars leave the calling thread: flat row arrays bound to the multi-row INSERT (core's bar tuple
// order, `final` as 0/1) and their packed form for the writer thread (one transferable Float64Array).
import { BAR_TUPLE_INDEX, BAR_TUPLE_WIDTH, isTimeframe, writeBarTuple, type Bar } from '@pipeline/core';

/** Values per row in a flat row array: core's bar tuple. */
export const ROW_WIDTH = BAR_TUPLE_WIDTH;

const SYMBOL = BAR_TUPLE_INDEX.symbol;
const TIMEFRAME = BAR_TUPLE_INDEX.timeframe;
const SOURCE = BAR_TUPLE_INDEX.source;
/** Columns packed as indexes into the batch's string table (the writer thread decodes them back). */
export const STRING_COLUMNS: readonly number[] = Object.freeze([SYMBOL, TIMEFRAME, SOURCE]);

/** Rows packed for the writer thread: see {@link encodeRows}. */
export interface EncodedRows {
  data: Float64Array<ArrayBuffer>;
  strings: string[];
}

/** Interns a string column value into the batch's string table. */
function intern(value: string, strings: string[], index: Map<string, number>): number {
  let i = index.get(value);
  if (i === undefined) {
    i = strings.push(value) - 1;
    index.set(value, i);
  }
  return i;
}

/**
 * Packs flat rows into one transferable Float64Array; the string columns ({@link STRING_COLUMNS}:
 * symbol, timeframe, source) become indexes into a per-batch string table. Epoch-ms ts and 0/1 are exact in doubles.
 */
export function encodeRows(flat: readonly unknown[]): EncodedRows {
  const data = new Float64Array(flat.length);
  const strings: string[] = [];
  const index = new Map<string, number>();
  for (let r = 0; r < flat.length; r += ROW_WIDTH) {
    for (let c = 0; c < ROW_WIDTH; c++) {
      const v = flat[r + c];
      data[r + c] =
        c === SYMBOL || c === TIMEFRAME || c === SOURCE ? intern(v as string, strings, index) : (v as number);
    }
  }
  return { data, strings };
}

/** Same packing as {@link encodeRows}, straight from storable bars (the backfill path in worker mode). */
export function encodeBarList(bars: readonly Bar[]): EncodedRows {
  return packBars(bars, bars.length);
}

/**
 * {@link encodeBarList} and the store's bar check (`barProblem`) in one pass: the packed rows when
 * every bar is storable, else null (the caller then checks bar by bar and reports the bad ones). A
 * string column equal to the previous row's was checked already: only a change costs a check.
 */
export function encodeStorableBars(bars: readonly unknown[]): EncodedRows | null {
  const data = new Float64Array(bars.length * ROW_WIDTH);
  const strings: string[] = [];
  const index = new Map<string, number>();
  let symbol: unknown = undefined;
  let symbolAt = -1;
  let timeframe: unknown = undefined;
  let timeframeAt = -1;
  let source: unknown = undefined;
  let sourceAt = -1;
  let o = 0;
  for (const bar of bars) {
    if (typeof bar !== 'object' || bar === null || Array.isArray(bar)) return null;
    const b = bar as Record<string, unknown>;
    const { ts, open, high, low, close, volume, final, quality } = b;
    if (
      !Number.isSafeInteger(ts) ||
      !Number.isFinite(open) ||
      !Number.isFinite(high) ||
      !Number.isFinite(low) ||
      !Number.isFinite(close) ||
      !Number.isFinite(volume) ||
      (volume as number) < 0 ||
      typeof final !== 'boolean' ||
      !Number.isFinite(quality)
    )
      return null;
    if (b.symbol !== symbol || symbolAt < 0) {
      if (typeof b.symbol !== 'string' || b.symbol.length === 0) return null;
      symbol = b.symbol;
      symbolAt = intern(b.symbol, strings, index);
    }
    if (b.timeframe !== timeframe || timeframeAt < 0) {
      if (!isTimeframe(b.timeframe)) return null;
      timeframe = b.timeframe;
      timeframeAt = intern(b.timeframe, strings, index);
    }
    if (b.source !== source || sourceAt < 0) {
      if (typeof b.source !== 'string' || b.source.length === 0) return null;
      source = b.source;
      sourceAt = intern(b.source, strings, index);
    }
    data[o] = symbolAt;
    data[o + 1] = timeframeAt;
    data[o + 2] = ts as number;
    data[o + 3] = open as number;
    data[o + 4] = high as number;
    data[o + 5] = low as number;
    data[o + 6] = close as number;
    data[o + 7] = volume as number;
    data[o + 8] = sourceAt;
    data[o + 9] = final ? 1 : 0;
    data[o + 10] = quality as number;
    o += ROW_WIDTH;
  }
  return { data, strings };
}

function packBars(bars: Iterable<Bar>, size: number): EncodedRows {
  const data = new Float64Array(size * ROW_WIDTH);
  const strings: string[] = [];
  const index = new Map<string, number>();
  // Rows come grouped by series: a string equal to the previous row's skips the table lookup.
  let symbol = '';
  let symbolAt = -1;
  let timeframe = '';
  let timeframeAt = -1;
  let source = '';
  let sourceAt = -1;
  let o = 0;
  for (const bar of bars) {
    if (bar.symbol !== symbol || symbolAt < 0) {
      symbol = bar.symbol;
      symbolAt = intern(symbol, strings, index);
    }
    if (bar.timeframe !== timeframe || timeframeAt < 0) {
      timeframe = bar.timeframe;
      timeframeAt = intern(timeframe, strings, index);
    }
    if (bar.source !== source || sourceAt < 0) {
      source = bar.source;
      sourceAt = intern(source, strings, index);
    }
    data[o] = symbolAt;
    data[o + 1] = timeframeAt;
    data[o + 2] = bar.ts;
    data[o + 3] = bar.open;
    data[o + 4] = bar.high;
    data[o + 5] = bar.low;
    data[o + 6] = bar.close;
    data[o + 7] = bar.volume;
    data[o + 8] = sourceAt;
    data[o + 9] = bar.final ? 1 : 0;
    data[o + 10] = bar.quality;
    o += ROW_WIDTH;
  }
  return { data, strings };
}

/** Writes one bar as ROW_WIDTH consecutive values in the column order of the INSERT statements. */
export function putRow(flat: unknown[], o: number, bar: Bar): void {
  writeBarTuple(flat, o, bar, true);
}
