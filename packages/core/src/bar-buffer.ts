// The write buffer of the history stores (sqlite-store, pg-store): one implementation, so that both
// treat a forming bar's update the same way (ARCHITECTURE.md: same key replaces, never adds).
import { type Bar, type SourceName, type Timeframe } from './bar';

/** One (symbol, timeframe) series: its buffered ts -> slot, in first-write order. */
interface Series {
  readonly symbol: string;
  readonly timeframe: Timeframe;
  readonly slots: Map<number, number>;
}

/** Numeric fields per slot in {@link BarBuffer}'s column: ts, open, high, low, close, volume, quality. */
const WIDTH = 7;

/**
 * Pending bars keyed by (symbol, timeframe, ts): a later bar with the same key replaces the buffered
 * one (the forming bar). Two levels (series -> ts) because a number-keyed inner map is much cheaper
 * than one string key per bar, and consecutive bars of one series skip the outer lookup entirely.
 *
 * The values are kept in typed-array columns, not as bar objects: a store buffers for seconds
 * (sqlite-store: 10 s by default) while the forming bar of every symbol is replaced every second, and
 * a copied object per write lived long enough to be promoted to V8's old generation and die there
 * (issue 16: about 0.3 KB per symbol per cycle of old-generation garbage). A replacement now writes
 * numbers in place; bar objects are made once per key when the buffer is read ({@link values},
 * {@link drain}).
 */
export class BarBuffer {
  /**
   * Series by symbol (a symbol usually has one timeframe here; no key string per write). Kept
   * across drains: a store writes the same series flush after flush.
   */
  private readonly bySymbol = new Map<string, Series[]>();
  /** The series holding bars now, in first-write order. */
  private series: Series[] = [];
  private count = 0;
  private nums = new Float64Array(64 * WIDTH);
  private finals = new Uint8Array(64);
  private sources: SourceName[] = [];
  private owners: Series[] = [];
  /** Objects kept as they are (`set(bar, false)`), by slot; empty unless that was used. */
  private refs: (Bar | undefined)[] = [];
  private last: Series | null = null;

  /** Distinct (symbol, timeframe, ts) keys held. */
  get size(): number {
    return this.count;
  }

  /**
   * Stores `bar`'s values (so a caller mutating its object later cannot change what is written), or
   * the object itself when `copy` is false (a batch consumed by the caller's own call).
   */
  set(bar: Bar, copy = true): void {
    const series = this.seriesOf(bar.symbol, bar.timeframe, true);
    let slot = series.slots.get(bar.ts);
    if (slot === undefined) {
      if (series.slots.size === 0) this.series.push(series);
      slot = this.count++;
      if (slot >= this.finals.length) this.grow();
      series.slots.set(bar.ts, slot);
      this.owners[slot] = series;
    }
    if (!copy) {
      this.refs[slot] = bar;
      return;
    }
    if (this.refs.length > 0) this.refs[slot] = undefined;
    const nums = this.nums;
    const at = slot * WIDTH;
    nums[at] = bar.ts;
    nums[at + 1] = bar.open;
    nums[at + 2] = bar.high;
    nums[at + 3] = bar.low;
    nums[at + 4] = bar.close;
    nums[at + 5] = bar.volume;
    nums[at + 6] = bar.quality;
    this.finals[slot] = bar.final ? 1 : 0;
    this.sources[slot] = bar.source;
  }

  has(bar: Pick<Bar, 'symbol' | 'timeframe' | 'ts'>): boolean {
    return this.seriesOf(bar.symbol, bar.timeframe, false)?.slots.has(bar.ts) ?? false;
  }

  /** Every buffered bar, series by series in first-write order (the buffer keeps them). */
  *values(): Generator<Bar> {
    for (const series of this.series) {
      for (const slot of series.slots.values()) yield this.bar(slot);
    }
  }

  /**
   * Takes every buffered bar out (the buffer is empty afterwards), in key order: series by
   * (symbol, timeframe), then ts. Writers that lock rows in one global order cannot deadlock each other
   * (two processes flushing overlapping keys during a handover).
   */
  drain(): Bar[] {
    const out: Bar[] = [];
    // Series in key order: symbol, then timeframe (code-unit order, as the default sort).
    const series = [...this.series].sort(bySeriesKey);
    for (const s of series) {
      const start = out.length;
      let sorted = true;
      let last = -Infinity;
      for (const slot of s.slots.values()) {
        const b = this.bar(slot);
        if (b.ts < last) sorted = false;
        last = b.ts;
        out.push(b);
      }
      if (!sorted) {
        const part = out.splice(start).sort((a, b) => a.ts - b.ts);
        for (const b of part) out.push(b);
      }
    }
    for (const s of this.series) s.slots.clear();
    this.series = [];
    this.count = 0;
    this.sources = [];
    this.owners = [];
    this.refs = [];
    return out;
  }

  /** The bar in `slot`: the object kept as it was, or a new one from the columns. */
  private bar(slot: number): Bar {
    const ref = this.refs[slot];
    if (ref !== undefined) return ref;
    const owner = this.owners[slot];
    const source = this.sources[slot];
    // Every slot below `count` has its owner and source set by the write that took it.
    if (owner === undefined || source === undefined) throw new Error(`BarBuffer: empty slot ${slot}`);
    const nums = this.nums;
    const at = slot * WIDTH;
    return {
      symbol: owner.symbol,
      timeframe: owner.timeframe,
      ts: nums[at] as number,
      open: nums[at + 1] as number,
      high: nums[at + 2] as number,
      low: nums[at + 3] as number,
      close: nums[at + 4] as number,
      volume: nums[at + 5] as number,
      source,
      final: this.finals[slot] === 1,
      quality: nums[at + 6] as number,
    };
  }

  private grow(): void {
    const finals = new Uint8Array(this.finals.length * 2);
    finals.set(this.finals);
    this.finals = finals;
    const nums = new Float64Array(finals.length * WIDTH);
    nums.set(this.nums);
    this.nums = nums;
  }

  private seriesOf(symbol: string, tf: Timeframe, create: true): Series;
  private seriesOf(symbol: string, tf: Timeframe, create: false): Series | undefined;
  private seriesOf(symbol: string, tf: Timeframe, create: boolean): Series | undefined {
    const last = this.last;
    if (last !== null && symbol === last.symbol && tf === last.timeframe) return last;
    let list = this.bySymbol.get(symbol);
    let series: Series | undefined;
    if (list !== undefined) for (const s of list) if (s.timeframe === tf) series = s;
    if (series === undefined) {
      if (!create) return undefined;
      series = { symbol, timeframe: tf, slots: new Map() };
      if (list === undefined) this.bySymbol.set(symbol, (list = []));
      list.push(series);
    }
    this.last = series;
    return series;
  }
}

const codeUnitOrder = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const bySeriesKey = (a: Series, b: Series): number =>
  codeUnitOrder(a.symbol, b.symbol) || codeUnitOrder(a.timeframe, b.timeframe);
