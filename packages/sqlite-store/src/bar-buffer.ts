import { type Bar } from '@pipeline/core';

/**
 * Pending bars keyed by (symbol, timeframe, ts): a later bar with the same key replaces the buffered
 * one (the forming bar). Two levels (series -> ts) because a number-keyed inner map is much cheaper
 * than one string key per bar, and consecutive bars of one series skip the outer lookup entirely.
 */
export class BarBuffer {
  private readonly series = new Map<string, Map<number, Bar>>();
  private lastSymbol: string | null = null;
  private lastTf: string | null = null;
  private last: Map<number, Bar> | null = null;
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

  *values(): Generator<Bar> {
    for (const inner of this.series.values()) yield* inner.values();
  }

  private seriesOf(symbol: string, tf: string, create: boolean): Map<number, Bar> | undefined {
    if (symbol === this.lastSymbol && tf === this.lastTf) return this.last!;
    const key = `${symbol}|${tf}`;
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
