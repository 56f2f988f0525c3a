import { type Bar } from '@pipeline/core';

/**
 * Pending bars keyed by (symbol, timeframe, ts): a later bar with the same key replaces the buffered
 * one (the forming bar). Two levels (series -> ts), as in sqlite-store: a number-keyed inner map is
 * much cheaper than one string key per bar.
 */
export class BarBuffer {
  private series = new Map<string, Map<number, Bar>>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Stores a copy of `bar`, so a caller mutating its object later cannot change what is written. */
  set(bar: Bar): void {
    const inner = this.seriesOf(bar.symbol, bar.timeframe, true)!;
    const before = inner.size;
    inner.set(bar.ts, { ...bar });
    this.count += inner.size - before;
  }

  has(bar: Pick<Bar, 'symbol' | 'timeframe' | 'ts'>): boolean {
    return this.seriesOf(bar.symbol, bar.timeframe, false)?.has(bar.ts) ?? false;
  }

  /** Takes every buffered bar out (the buffer is empty afterwards). */
  drain(): Bar[] {
    const out: Bar[] = [];
    for (const inner of this.series.values()) for (const b of inner.values()) out.push(b);
    this.series = new Map();
    this.count = 0;
    return out;
  }

  private seriesOf(symbol: string, tf: string, create: boolean): Map<number, Bar> | undefined {
    const key = `${symbol}\u0000${tf}`;
    let inner = this.series.get(key);
    if (!inner && create) {
      inner = new Map();
      this.series.set(key, inner);
    }
    return inner;
  }
}
