// The per-series state (window of recent bars, last update) the rules judge against, keyed by
// symbol and timeframe, bounded by `maxSeries` with least-recently-used eviction.
import { SeriesLru } from '@pipeline/core';
import { SeriesState } from './state';

/**
 * Live states are held in core's `SeriesLru`: found by timeframe, then symbol (no key string built
 * per bar), in recency order on a list threaded through the states themselves, so a hit moves its
 * state to the tail in O(1) and eviction drops the least recently used.
 */
export class SeriesStates {
  private readonly lru: SeriesLru<SeriesState>;

  constructor(
    private readonly window: number,
    maxSeries: number,
  ) {
    this.lru = new SeriesLru(maxSeries);
  }

  /** Live series held. */
  get size(): number {
    return this.lru.size;
  }

  /** The live state of a series, created on first use; marks it most recently used, enforces the bound. */
  live(symbol: string, timeframe: string): SeriesState {
    let st = this.lru.get(symbol, timeframe);
    if (st !== undefined) {
      this.lru.touch(st);
      return st;
    }
    st = new SeriesState(this.window, symbol, timeframe);
    this.lru.add(st);
    return st;
  }

  /** The state of a series in a throw-away map (a fresh series run), created on first use; no bound. */
  fresh(map: Map<string, SeriesState>, symbol: string, timeframe: string): SeriesState {
    const key = `${symbol}|${timeframe}`;
    let st = map.get(key);
    if (st === undefined) {
      st = new SeriesState(this.window, symbol, timeframe);
      map.set(key, st);
    }
    return st;
  }

  get(symbol: string, timeframe: string): SeriesState | undefined {
    return this.lru.get(symbol, timeframe);
  }

  /** Forgets one series, every timeframe of a symbol, or everything. */
  reset(symbol?: string, timeframe?: string): void {
    if (symbol === undefined) this.lru.clear();
    else if (timeframe === undefined) for (const st of this.lru.ofSymbol(symbol)) this.lru.delete(st);
    else {
      const st = this.lru.get(symbol, timeframe);
      if (st !== undefined) this.lru.delete(st);
    }
  }
}
