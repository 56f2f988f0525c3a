// The per-series state (window of recent bars, last update) the rules judge against, keyed by
// symbol and timeframe, bounded by `maxSeries` with least-recently-used eviction.
import { SeriesState } from './state';

export class SeriesStates {
  readonly map = new Map<string, SeriesState>();

  constructor(
    private readonly window: number,
    private readonly maxSeries: number,
  ) {}

  /**
   * The state of a series in `map` (this store's live map, or a throw-away one for a fresh series run),
   * created on first use. `shared` marks live use: LRU order is kept and the bound enforced.
   */
  stateFor(map: Map<string, SeriesState>, symbol: string, timeframe: string, shared: boolean): SeriesState {
    const key = `${symbol}|${timeframe}`;
    let st = map.get(key);
    if (st !== undefined) {
      if (shared) {
        // Map order is the LRU order: re-insert on use, evict from the front.
        map.delete(key);
        map.set(key, st);
      }
      return st;
    }
    st = new SeriesState(this.window);
    map.set(key, st);
    if (shared && map.size > this.maxSeries) {
      const oldest = map.keys().next();
      if (oldest.done !== true) map.delete(oldest.value);
    }
    return st;
  }

  get(symbol: string, timeframe: string): SeriesState | undefined {
    return this.map.get(`${symbol}|${timeframe}`);
  }

  /** Forgets one series, every timeframe of a symbol, or everything. */
  reset(symbol?: string, timeframe?: string): void {
    if (symbol === undefined) this.map.clear();
    else if (timeframe === undefined) {
      for (const key of [...this.map.keys()]) if (key.startsWith(`${symbol}|`)) this.map.delete(key);
    } else this.map.delete(`${symbol}|${timeframe}`);
  }
}
