import { BollingerBands, bollingerBatch } from '../index';
import { mulberry32 } from '../../test/series';

/** Population standard deviation of prices on a 0.01 tick, exactly, from integer cents. */
function exactStd(cents: bigint[]): number {
  const n = BigInt(cents.length);
  const sum = cents.reduce((a, b) => a + b, 0n);
  const sq = cents.reduce((a, b) => a + b * b, 0n);
  // variance * n^2 * 10^4 = n * sum(x^2) - sum(x)^2, all integers.
  const num = n * sq - sum * sum;
  return Math.sqrt(Number(num)) / Number(n) / 100;
}

describe('BollingerBands modes', () => {
  // Prices near 100,000 with cent moves: E[x²] - E[x]² loses ~10 of the 16 digits.
  const rnd = mulberry32(5);
  const cents: bigint[] = [];
  let c = 10_000_000n;
  for (let i = 0; i < 400; i++) {
    c += BigInt(Math.floor(rnd() * 7) - 3);
    cents.push(c);
  }
  const prices = cents.map((x) => Number(x) / 100);

  it('exact mode is within 1e-9 relative of the exact deviation; talib mode is not', () => {
    const exact = bollingerBatch(prices, { period: 20, stdDev: 1, mode: 'exact' });
    const talib = bollingerBatch(prices, { period: 20, stdDev: 1 });
    let worstExact = 0;
    let worstTalib = 0;
    for (let i = 19; i < prices.length; i++) {
      const sd = exactStd(cents.slice(i - 19, i + 1));
      worstExact = Math.max(worstExact, Math.abs(exact.upper[i]! - exact.middle[i]! - sd) / sd);
      worstTalib = Math.max(worstTalib, Math.abs(talib.upper[i]! - talib.middle[i]! - sd) / sd);
    }
    expect(worstExact).toBeLessThan(1e-9);
    expect(worstTalib).toBeGreaterThan(1e-6);
  });

  it('both modes give 0 width on a flat window', () => {
    for (const mode of ['talib', 'exact'] as const) {
      const bb = new BollingerBands({ period: 5, mode });
      for (let i = 0; i < 5; i++) bb.add(1.2345);
      const r = bb.getResultOrThrow();
      expect(r.upper).toBe(r.middle);
      expect(r.lower).toBe(r.middle);
    }
  });
});
