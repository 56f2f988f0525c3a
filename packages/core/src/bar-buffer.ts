// The write buffer of the history stores (sqlite-store, pg-store): one implementation, so that both
// treat a forming bar's update the same way (ARCHITECTURE.md: same key replaces, never adds).
import { type Bar } from './bar';

/**
 * Pending bars keyed by (symbol, timeframe, ts): a later bar with the same key replaces the buffered
 * one (the forming bar). Two levels (series -> ts) because a number-keyed inner map is much cheaper
 * than one string key per bar, and consecutive bars of one series skip the outer lookup entirely.
 */
export class BarBuffer {
  private series = new Map<string, Map<number, Bar>>();
  private count = 0;
  private lastSymbol: string | null = null;
  private lastTf: string | null = null;
  private last: Map<number, Bar> | null = null;

  /** Distinct (symbol, timeframe, ts) keys held. */
  get size(): number {
    return this.count;
  }

  /**
   * Stores a copy of `bar` (so a caller mutating its object later cannot change what is written), or
   * the object itself when `copy` is false (a batch consumed by the caller's own call).
   */
  set(bar: Bar, copy = true): void {
    const inner = this.seriesOf(bar.symbol, bar.timeframe, true);
    const before = inner.size;
    inner.set(bar.ts, copy ? { ...bar } : bar);
    this.count += inner.size - before;
  }

  has(bar: Pick<Bar, 'symbol' | 'timeframe' | 'ts'>): boolean {
    return this.seriesOf(bar.symbol, bar.timeframe, false)?.has(bar.ts) ?? false;
  }

  /** Every buffered bar, series by series in first-write order (the buffer keeps them). */
  *values(): Generator<Bar> {
    for (const inner of this.series.values()) yield* inner.values();
  }

  /**
   * Takes every buffered bar out (the buffer is empty afterwards), in key order: series by
   * (symbol, timeframe), then ts. Writers that lock rows in one global order cannot deadlock each other
   * (two processes flushing overlapping keys during a handover).
   */
  drain(): Bar[] {
    const out: Bar[] = [];
    // Series in key order (the code-unit order of the default sort).
    const series = [...this.series].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    for (const [, inner] of series) {
      const start = out.length;
      let sorted = true;
      let last = -Infinity;
      for (const b of inner.values()) {
        if (b.ts < last) sorted = false;
        last = b.ts;
        out.push(b);
      }
      if (!sorted) {
        const part = out.splice(start).sort((a, b) => a.ts - b.ts);
        for (const b of part) out.push(b);
      }
    }
    this.series = new Map();
    this.count = 0;
    this.lastSymbol = this.lastTf = null;
    this.last = null;
    return out;
  }

  private seriesOf(symbol: string, tf: string, create: true): Map<number, Bar>;
  private seriesOf(symbol: string, tf: string, create: false): Map<number, Bar> | undefined;
  private seriesOf(symbol: string, tf: string, create: boolean): Map<number, Bar> | undefined {
    if (this.last !== null && symbol === this.lastSymbol && tf === this.lastTf) return this.last;
    // NUL cannot occur in a symbol or timeframe, so no two series share a key.
    const key = `${symbol}\u0000${tf}`;
    let inner = this.series.get(key);
    if (!inner) {
      if (!create) return undefined;
      inner = new Map();
      this.series.set(key, inner);
    }
    this.lastSymbol = symbol;
    this.lastTf = tf;
    this.last = inner;
    return inner;
  }
}
