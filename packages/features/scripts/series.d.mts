// Types of series.mjs (plain JavaScript so the reference generator runs under plain node beside the
// native talib build; the tests and benchmarks import the same file through test/series.ts).

export interface Columns {
  ts: Float64Array;
  open: Float64Array;
  high: Float64Array;
  low: Float64Array;
  close: Float64Array;
  volume: Float64Array;
}

/** mulberry32: a tiny seeded PRNG with 2^32 period, enough for test data. */
export function mulberry32(seed: number): () => number;
/** Random-walk OHLCV bars, one minute apart from 2024-01-02 00:00 UTC. */
export function randomSeries(seed: number, n: number): Columns;
/** Hand-made edge cases (flat stretches, ties, zero ranges, zero volume). */
export function edgeSeries(): Columns;
