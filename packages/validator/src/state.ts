/**
 * What the validator remembers about one (symbol, timeframe) series: the last kept bar, the closes needed to
 * compute log returns, and a ring of recent returns for the rolling sigma. Fixed size: about
 * `window * 8 + 200` bytes.
 */
export class SeriesState {
  /** Open time of the last kept bar (NaN before the first). */
  lastTs = NaN;
  lastFinal = false;
  lastOpen = NaN;
  lastHigh = NaN;
  lastLow = NaN;
  lastClose = NaN;
  lastVolume = NaN;
  /** Whether the last kept bar was flagged as a spike. */
  lastWasSpike = false;
  /** Close of the bar before `lastTs`: the base of the last bar's return. */
  baseClose = NaN;
  /** Base of the bar that closed at `baseClose`: the level before a possible spike. */
  prevBase = NaN;
  /** Whether the bar that closed at `baseClose` was flagged as a spike. */
  prevWasSpike = false;
  /** Consecutive kept updates with an unchanged close. */
  unchanged = 0;
  /** Clock time of the last kept update (epoch ms). */
  lastUpdateAt = NaN;
  readonly ring: Float64Array;
  ringLen = 0;
  ringPos = 0;
  sum = 0;
  sumSq = 0;

  /** Neighbours in the live store's recency list (core's SeriesLru, via SeriesStates); null when not on it. */
  lruPrev: SeriesState | null = null;
  lruNext: SeriesState | null = null;

  constructor(
    window: number,
    readonly symbol = '',
    readonly timeframe = '',
  ) {
    this.ring = new Float64Array(window);
  }

  push(r: number): void {
    const cap = this.ring.length;
    if (this.ringLen === cap) {
      // ringPos stays within 0..cap-1 (it advances modulo cap).
      const old = this.ring[this.ringPos] ?? NaN;
      this.sum -= old;
      this.sumSq -= old * old;
    } else {
      this.ringLen++;
    }
    this.ring[this.ringPos] = r;
    this.ringPos = (this.ringPos + 1) % cap;
    this.sum += r;
    this.sumSq += r * r;
  }

  /** The value `push` would evict next, or 0 while the ring is not full. */
  evictable(): number {
    // ringPos stays within 0..length-1 (it advances modulo the length).
    return this.ringLen === this.ring.length ? (this.ring[this.ringPos] ?? NaN) : 0;
  }
}

/** Sample standard deviation from running sums (0 below two values). */
export function sigmaOf(n: number, sum: number, sumSq: number): number {
  if (n < 2) return 0;
  const v = (sumSq - (sum * sum) / n) / (n - 1);
  return v > 0 ? Math.sqrt(v) : 0;
}
