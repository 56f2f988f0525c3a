import { TIMEFRAME_MS, type Bar, type Clock, type Fetcher, type Timeframe } from '@pipeline/core';

/** What the bar checks of the Fetcher contract need to know about the fetcher under test. */
export interface ContractSubject {
  fetcher: Pick<Fetcher, 'source'>;
  clock: Pick<Clock, 'now'>;
  symbol: string;
  timeframe: Timeframe;
}

/**
 * The bar checks of the Fetcher contract (src/fetcher-contract.int.test.ts and the Twelve Data /
 * Polygon one): generic symbol and source, grid-aligned ascending unique opens not after now,
 * consistent positive OHLC, volume >= 0, and only a bar still open per the clock non-final.
 */
export function assertContractBars(bars: Bar[], s: ContractSubject): void {
  const tf = TIMEFRAME_MS[s.timeframe];
  let prev: Bar | undefined;
  for (const b of bars) {
    expect(b).toMatchObject({
      symbol: s.symbol,
      timeframe: s.timeframe,
      source: s.fetcher.source,
      quality: 1,
    });
    expect(b.ts % tf).toBe(0);
    expect(b.low).toBeLessThanOrEqual(Math.min(b.open, b.close));
    expect(b.high).toBeGreaterThanOrEqual(Math.max(b.open, b.close));
    expect(b.low).toBeGreaterThan(0);
    expect(b.volume).toBeGreaterThanOrEqual(0);
    expect(b.ts).toBeLessThanOrEqual(s.clock.now());
    if (prev !== undefined) expect(b.ts).toBeGreaterThan(prev.ts);
    expect(b.final).toBe(s.clock.now() >= b.ts + tf);
  }
}
