// The live store as it was before SeriesLru (commit 98ae4e8: its own timeframe/symbol maps and recency
// list), kept as the reference the equivalence property test compares the current one with. Not shipped.
// The per-series state (window of recent bars, last update) the rules judge against, keyed by
// symbol and timeframe, bounded by `maxSeries` with least-recently-used eviction.
import { SeriesState } from '../../src/state';

/**
 * Live states are found by timeframe, then symbol (two Map reads, no key string built per bar), and
 * kept in recency order on a doubly linked list threaded through the states themselves: a hit moves
 * its state to the tail in O(1) without touching a Map, and eviction drops the head (the least
 * recently used, as the one Map in insertion order did before).
 */
export class SeriesStates {
  private readonly byTimeframe = new Map<string, Map<string, SeriesState>>();
  /** Least recently used first. */
  private head: SeriesState | null = null;
  private tail: SeriesState | null = null;
  private count = 0;

  constructor(
    private readonly window: number,
    private readonly maxSeries: number,
  ) {}

  /** Live series held. */
  get size(): number {
    return this.count;
  }

  /** The live state of a series, created on first use; marks it most recently used, enforces the bound. */
  live(symbol: string, timeframe: string): SeriesState {
    let bySymbol = this.byTimeframe.get(timeframe);
    if (bySymbol === undefined) {
      bySymbol = new Map();
      this.byTimeframe.set(timeframe, bySymbol);
    }
    let st = bySymbol.get(symbol);
    if (st !== undefined) {
      if (st !== this.tail) {
        this.unlink(st);
        this.append(st);
      }
      return st;
    }
    st = new SeriesState(this.window, symbol, timeframe);
    bySymbol.set(symbol, st);
    this.append(st);
    this.count++;
    if (this.count > this.maxSeries && this.head !== null) this.drop(this.head);
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
    return this.byTimeframe.get(timeframe)?.get(symbol);
  }

  /** Forgets one series, every timeframe of a symbol, or everything. */
  reset(symbol?: string, timeframe?: string): void {
    if (symbol === undefined) {
      this.byTimeframe.clear();
      // Unthread the list so dropped states hold no references to each other or to live ones.
      for (let st = this.head; st !== null;) {
        const next = st.lruNext;
        st.lruPrev = st.lruNext = null;
        st = next;
      }
      this.head = this.tail = null;
      this.count = 0;
    } else if (timeframe === undefined) {
      for (const bySymbol of this.byTimeframe.values()) {
        const st = bySymbol.get(symbol);
        if (st !== undefined) this.drop(st);
      }
    } else {
      const st = this.get(symbol, timeframe);
      if (st !== undefined) this.drop(st);
    }
  }

  private drop(st: SeriesState): void {
    this.byTimeframe.get(st.timeframe)?.delete(st.symbol);
    this.unlink(st);
    this.count--;
  }

  private append(st: SeriesState): void {
    st.lruPrev = this.tail;
    st.lruNext = null;
    if (this.tail === null) this.head = st;
    else this.tail.lruNext = st;
    this.tail = st;
  }

  private unlink(st: SeriesState): void {
    const { lruPrev: prev, lruNext: next } = st;
    if (prev === null) this.head = next;
    else prev.lruNext = next;
    if (next === null) this.tail = prev;
    else next.lruPrev = prev;
    st.lruPrev = st.lruNext = null;
  }
}
