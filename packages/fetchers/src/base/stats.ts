/** Counters every fetcher keeps; read them with `fetcher.stats()` (e.g. for metrics). */
export interface FetcherStats {
  /** HTTP requests sent (or reads, for offline sources). */
  requests: number;
  /** Requests that ended in a FetchError. */
  failures: number;
  /** Bars returned to callers. */
  bars: number;
  /** Provider rows whose OHLC were all null/missing: skipped, never turned into zeros. */
  nullRowsSkipped: number;
  /** Rows with some null or unusable field (e.g. close without open): skipped. */
  partialRowsSkipped: number;
  /** Rows whose open/close lay within 0.5 % outside [low, high]: high/low widened to contain them. */
  ohlcRepaired: number;
  /** Rows whose OHLC contradict each other (low above high, ...): skipped. */
  inconsistentRowsSkipped: number;
  /** Points outside the requested window or at a session close instant: dropped (see the README). */
  outOfRangePointsDropped: number;
  /**
   * Yahoo's live point (stamped at the last trade time, off the bar grid) folded into the bar that
   * contains it.
   */
  livePointsMerged: number;
  /** Requests refused locally because the rate budget was spent (nothing sent). */
  rateLimitedLocally: number;
}

/** A zeroed {@link FetcherStats}. */
export function createFetcherStats(): FetcherStats {
  return {
    requests: 0,
    failures: 0,
    bars: 0,
    nullRowsSkipped: 0,
    partialRowsSkipped: 0,
    inconsistentRowsSkipped: 0,
    ohlcRepaired: 0,
    outOfRangePointsDropped: 0,
    livePointsMerged: 0,
    rateLimitedLocally: 0,
  };
}
