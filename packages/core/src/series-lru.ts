// Series found by (symbol, timeframe) and kept in recency order: the bounded per-series state of
// the validator and of the in-process hot cache (one implementation, so both evict the same way).

/** What a series held by {@link SeriesLru} carries: its key and its two links (owned by the LRU). */
export interface LruSeries<T> {
  readonly symbol: string;
  readonly timeframe: string;
  lruPrev: T | null;
  lruNext: T | null;
}

/**
 * Series by timeframe then symbol (two Map reads, no key string built per call), threaded on a doubly
 * linked list through the series themselves, least recently used first: marking one most recent is
 * O(1) and allocates nothing, and beyond `max` the least recent is dropped. Issue 16: both users ran
 * this for every bar of every symbol every cycle, where a string key per call and a Map delete and
 * set per hit showed in the profile.
 */
export class SeriesLru<T extends LruSeries<T>> {
  private readonly byTimeframe = new Map<string, Map<string, T>>();
  private head: T | null = null;
  private tail: T | null = null;
  private count = 0;

  constructor(private readonly max: number) {}

  /** Series held. */
  get size(): number {
    return this.count;
  }

  get(symbol: string, timeframe: string): T | undefined {
    return this.byTimeframe.get(timeframe)?.get(symbol);
  }

  /** Marks a held series most recently used. */
  touch(s: T): void {
    if (s !== this.tail) {
      this.unlink(s);
      this.append(s);
    }
  }

  /**
   * Holds a series not held yet, as the most recently used; beyond `max` the least recently used is
   * dropped and returned (null when none was).
   */
  add(s: T): T | null {
    let bySymbol = this.byTimeframe.get(s.timeframe);
    if (bySymbol === undefined) {
      bySymbol = new Map();
      this.byTimeframe.set(s.timeframe, bySymbol);
    }
    bySymbol.set(s.symbol, s);
    this.append(s);
    this.count++;
    const oldest = this.head;
    if (this.count > this.max && oldest !== null) {
      this.delete(oldest);
      return oldest;
    }
    return null;
  }

  /** Drops a held series. */
  delete(s: T): void {
    this.byTimeframe.get(s.timeframe)?.delete(s.symbol);
    this.unlink(s);
    this.count--;
  }

  /** The held series of `symbol`, every timeframe. */
  ofSymbol(symbol: string): T[] {
    const out: T[] = [];
    for (const bySymbol of this.byTimeframe.values()) {
      const s = bySymbol.get(symbol);
      if (s !== undefined) out.push(s);
    }
    return out;
  }

  /** Drops every series; `each` sees each dropped one (unlinked: it holds no reference to the others). */
  clear(each?: (s: T) => void): void {
    for (let s = this.head; s !== null;) {
      const next = s.lruNext;
      s.lruPrev = s.lruNext = null;
      each?.(s);
      s = next;
    }
    this.byTimeframe.clear();
    this.head = this.tail = null;
    this.count = 0;
  }

  private append(s: T): void {
    s.lruPrev = this.tail;
    s.lruNext = null;
    if (this.tail === null) this.head = s;
    else this.tail.lruNext = s;
    this.tail = s;
  }

  private unlink(s: T): void {
    const prev = s.lruPrev;
    const next = s.lruNext;
    if (prev === null) this.head = next;
    else prev.lruNext = next;
    if (next === null) this.tail = prev;
    else next.lruPrev = prev;
    s.lruPrev = s.lruNext = null;
  }
}
