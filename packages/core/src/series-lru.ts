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
 *
 * Nothing here marks a series used on its own: `get` and `ofSymbol` leave the order alone, only
 * `touch` and `add` move a series to the most recent end (the validator touches on every bar it
 * judges, the cache on every write, neither on a read). A series dropped (evicted, deleted, cleared)
 * is unlinked and forgotten: adding a series with the same key later starts it as the most recent,
 * like any new one.
 */
export class SeriesLru<T extends LruSeries<T>> {
  private readonly byTimeframe = new Map<string, Map<string, T>>();
  private head: T | null = null;
  private tail: T | null = null;
  private count = 0;

  /** @param max series held at most (>= 1); adding one more drops the least recently used. */
  constructor(private readonly max: number) {
    if (!(max >= 1)) throw new RangeError(`SeriesLru: max must be at least 1, got ${max}`);
  }

  /** Series held. */
  get size(): number {
    return this.count;
  }

  /** The held series of (symbol, timeframe); does not mark it used. */
  get(symbol: string, timeframe: string): T | undefined {
    return this.byTimeframe.get(timeframe)?.get(symbol);
  }

  /** Whether `s` itself (not just a series with its key) is held. */
  has(s: T): boolean {
    return this.get(s.symbol, s.timeframe) === s;
  }

  /** Marks a held series most recently used. A series not held is refused (it would cut the list). */
  touch(s: T): void {
    if (s === this.tail) return;
    // Off the list: no predecessor and not the head (the tail was ruled out above).
    if (s.lruPrev === null && s !== this.head)
      throw new Error(`SeriesLru: touch of a series not held (${key(s)})`);
    this.unlink(s);
    this.append(s);
  }

  /**
   * Holds a series whose key is not held yet, as the most recently used; beyond `max` the least
   * recently used is dropped and returned (null when none was).
   */
  add(s: T): T | null {
    let bySymbol = this.byTimeframe.get(s.timeframe);
    if (bySymbol === undefined) {
      bySymbol = new Map();
      this.byTimeframe.set(s.timeframe, bySymbol);
    } else if (bySymbol.has(s.symbol)) {
      // Replacing the entry would leave the old series on the list and the count one too high.
      throw new Error(`SeriesLru: add of a series already held (${key(s)})`);
    }
    bySymbol.set(s.symbol, s);
    this.append(s);
    this.count++;
    const oldest = this.head;
    if (this.count > this.max && oldest !== null) {
      this.drop(oldest);
      return oldest;
    }
    return null;
  }

  /** Drops `s` if it is held; false (and nothing changed) when it is not. */
  delete(s: T): boolean {
    if (!this.has(s)) return false;
    this.drop(s);
    return true;
  }

  /** The held series of `symbol`, every timeframe (in the order the timeframes were first held). */
  ofSymbol(symbol: string): T[] {
    const out: T[] = [];
    for (const bySymbol of this.byTimeframe.values()) {
      const s = bySymbol.get(symbol);
      if (s !== undefined) out.push(s);
    }
    return out;
  }

  /** The held series, least recently used first. */
  *values(): IterableIterator<T> {
    for (let s = this.head; s !== null; s = s.lruNext) yield s;
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

  private drop(s: T): void {
    this.byTimeframe.get(s.timeframe)?.delete(s.symbol);
    this.unlink(s);
    this.count--;
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

function key(s: LruSeries<unknown>): string {
  return `${s.symbol} ${s.timeframe}`;
}
