// The store's write buffer: pending bars keyed by (symbol, timeframe, ts), a later bar with the same
// key replacing the buffered one (the forming bar), kept already packed the way the writer thread
// takes them (row-encoding.ts: one Float64Array of bar tuples, strings as indexes into the batch's
// string table). Two things it avoids, which core's BarBuffer paid per flush and per bar (issue 16,
// sidecar profile at 20,000 symbols: about 200 B per symbol per cycle):
// - the series index is kept across flushes: a store writes the same series flush after flush, and a
//   new buffer per flush rebuilt a Map, a series record and an index entry for each of them;
// - no bar object per row at hand-over: the rows are packed as they are written, so a flush copies
//   one typed array instead of making a bar per row to pack it (and a string table Map per batch).
// The usual series holds one key per batch (its forming bar, replaced every cycle): that key sits in
// the series record itself; a per-series Map is made only for a second key in the same batch.
import { type Bar, type SourceName, type Timeframe } from '@pipeline/core';
import { ROW_WIDTH, type EncodedRows } from './row-encoding';

/** A batch taken out of the buffer: `rows` packed rows at the start of `data` (which may be longer). */
export interface PackedRows extends EncodedRows {
  rows: number;
}

/** One (symbol, timeframe) series seen by the buffer; kept across batches. */
interface Series {
  readonly symbol: string;
  readonly timeframe: Timeframe;
  /** Other timeframes of the same symbol (rare). */
  next: Series | null;
  /** Batch in which this series holds keys; any other value: none buffered now. */
  batch: number;
  /** The series' first key of the batch and its slot. */
  ts0: number;
  slot0: number;
  /** Further keys of the batch (ts -> slot); null while the series has only one. */
  more: Map<number, number> | null;
  /** Index of `symbol` and `timeframe` in the batch's string table. */
  symbolAt: number;
  timeframeAt: number;
}

/** Index of a string (a source or timeframe name) in the batch's string table, valid for batch `batch`. */
interface Interned {
  batch: number;
  at: number;
}

const SYMBOL = 0;
const TIMEFRAME = 1;
const TS = 2;
const SOURCE = 8;
const INITIAL_ROWS = 64;

export class PendingRows {
  private readonly bySymbol = new Map<string, Series>();
  private readonly names = new Map<string, Interned>();
  private last: Series | null = null;
  private lastSource = '';
  private lastSourceAt: Interned = { batch: -1, at: -1 };
  /** Increments when a batch is taken or cleared: every series and string index of older batches is void. */
  private batch = 0;
  private count = 0;
  private data = new Float64Array(INITIAL_ROWS * ROW_WIDTH);
  private strings: string[] = [];

  /** Distinct (symbol, timeframe, ts) keys held. */
  get size(): number {
    return this.count;
  }

  /** Buffers `bar`'s values (a later change to the object is not seen); same key replaces. */
  set(bar: Bar): void {
    const series = this.seriesOf(bar.symbol, bar.timeframe, true);
    let slot: number;
    if (series.batch !== this.batch) {
      series.batch = this.batch;
      series.symbolAt = this.symbolAt(series);
      series.timeframeAt = this.intern(series.timeframe).at;
      series.ts0 = bar.ts;
      series.more = null;
      slot = series.slot0 = this.newSlot();
    } else if (series.ts0 === bar.ts) {
      slot = series.slot0;
    } else {
      const more = (series.more ??= new Map());
      const known = more.get(bar.ts);
      if (known === undefined) more.set(bar.ts, (slot = this.newSlot()));
      else slot = known;
    }
    const d = this.data;
    const o = slot * ROW_WIDTH;
    d[o] = series.symbolAt;
    d[o + 1] = series.timeframeAt;
    d[o + 2] = bar.ts;
    d[o + 3] = bar.open;
    d[o + 4] = bar.high;
    d[o + 5] = bar.low;
    d[o + 6] = bar.close;
    d[o + 7] = bar.volume;
    d[o + 8] = this.sourceAt(bar.source);
    d[o + 9] = bar.final ? 1 : 0;
    d[o + 10] = bar.quality;
  }

  /** True when a bar with this key is buffered. */
  has(symbol: string, timeframe: Timeframe, ts: number): boolean {
    const series = this.seriesOf(symbol, timeframe, false);
    if (series === undefined || series.batch !== this.batch) return false;
    return series.ts0 === ts || (series.more?.has(ts) ?? false);
  }

  /**
   * Takes every buffered row out (the buffer is empty afterwards), in the order their keys were first
   * written. The rows are `data[0, rows * ROW_WIDTH)`; the buffer no longer touches `data`.
   */
  take(): PackedRows {
    const taken: PackedRows = { data: this.data, strings: this.strings, rows: this.count };
    // The next batch gets an array of the same capacity: no growth again at the same load.
    this.data = new Float64Array(this.data.length);
    this.reset();
    return taken;
  }

  /** The buffered rows as one flat row array (string columns as strings): the inline writer's input. */
  flat(): unknown[] {
    return decodeRows({ data: this.data, strings: this.strings, rows: this.count });
  }

  /** Drops every buffered row (after the inline writer committed them). */
  clear(): void {
    this.reset();
  }

  /** Buffers every row of `rows` whose key `keep` accepts (a failed batch given back). */
  restore(rows: PackedRows, keep: (symbol: string, timeframe: Timeframe, ts: number) => boolean): void {
    const { data, strings } = rows;
    for (let r = 0; r < rows.rows; r++) {
      const o = r * ROW_WIDTH;
      const symbol = strings[data[o + SYMBOL] as number] as string;
      const timeframe = strings[data[o + TIMEFRAME] as number] as Timeframe;
      const ts = data[o + TS] as number;
      if (keep(symbol, timeframe, ts)) this.set(barAt(rows, r));
    }
  }

  private reset(): void {
    this.batch++;
    this.count = 0;
    this.strings = [];
    this.last = null;
  }

  private newSlot(): number {
    const slot = this.count++;
    if ((slot + 1) * ROW_WIDTH > this.data.length) {
      const grown = new Float64Array(this.data.length * 2);
      grown.set(this.data);
      this.data = grown;
    }
    return slot;
  }

  /** The batch's string table index of `series`' symbol: shared with its other timeframes' series. */
  private symbolAt(series: Series): number {
    for (let s = this.bySymbol.get(series.symbol); s !== undefined; s = s.next ?? undefined) {
      if (s !== series && s.batch === this.batch) return s.symbolAt;
    }
    return this.strings.push(series.symbol) - 1;
  }

  /** The batch's string table index of a source name; the previous bar's source skips the lookup. */
  private sourceAt(source: string): number {
    const entry = this.lastSourceAt;
    if (source === this.lastSource && entry.batch === this.batch) return entry.at;
    this.lastSource = source;
    return (this.lastSourceAt = this.intern(source)).at;
  }

  /** A source or timeframe name in the batch's string table (they are few: one small map, kept). */
  private intern(value: string): Interned {
    let entry = this.names.get(value);
    if (entry === undefined) this.names.set(value, (entry = { batch: -1, at: -1 }));
    if (entry.batch !== this.batch) {
      entry.batch = this.batch;
      entry.at = this.strings.push(value) - 1;
    }
    return entry;
  }

  private seriesOf(symbol: string, tf: Timeframe, create: true): Series;
  private seriesOf(symbol: string, tf: Timeframe, create: false): Series | undefined;
  private seriesOf(symbol: string, tf: Timeframe, create: boolean): Series | undefined {
    const last = this.last;
    if (last !== null && last.symbol === symbol && last.timeframe === tf) return last;
    const first = this.bySymbol.get(symbol);
    let series = first;
    while (series !== undefined && series.timeframe !== tf) series = series.next ?? undefined;
    if (series === undefined) {
      if (!create) return undefined;
      series = {
        symbol,
        timeframe: tf,
        next: first ?? null,
        batch: -1,
        ts0: 0,
        slot0: -1,
        more: null,
        symbolAt: -1,
        timeframeAt: -1,
      };
      this.bySymbol.set(symbol, series);
    }
    this.last = series;
    return series;
  }
}

/** Row `r` of packed rows as a bar. */
export function barAt(rows: EncodedRows, r: number): Bar {
  const { data, strings } = rows;
  const o = r * ROW_WIDTH;
  return {
    symbol: strings[data[o + SYMBOL] as number] as string,
    timeframe: strings[data[o + TIMEFRAME] as number] as Timeframe,
    ts: data[o + TS] as number,
    open: data[o + 3] as number,
    high: data[o + 4] as number,
    low: data[o + 5] as number,
    close: data[o + 6] as number,
    volume: data[o + 7] as number,
    source: strings[data[o + SOURCE] as number] as SourceName,
    final: data[o + 9] === 1,
    quality: data[o + 10] as number,
  };
}

/** The first `rows.rows` packed rows as one flat row array, string columns decoded (as the writer thread does). */
export function decodeRows(rows: PackedRows): unknown[] {
  const { data, strings } = rows;
  const n = rows.rows * ROW_WIDTH;
  const flat = new Array<unknown>(n);
  for (let k = 0; k < n; k++) {
    const c = k % ROW_WIDTH;
    flat[k] = c === SYMBOL || c === TIMEFRAME || c === SOURCE ? strings[data[k] as number] : data[k];
  }
  return flat;
}
