import { readFixture } from '@pipeline/test-utils';
import { shortestFloat32Decimal, shortestFloat32DecimalByString } from './float32';

/** A deterministic pseudo-random sequence (mulberry32), so a failure names a reproducible input. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('shortestFloat32Decimal', () => {
  it.each([
    [225.88999938964844, 225.89],
    [225.6999969482422, 225.7],
    [226.80999755859375, 226.81],
    [224.80999755859375, 224.81],
    [223.89999389648438, 223.9],
    [Math.fround(224.565), 224.565], // a half cent stays a half cent
    [1.1220825910568237, 1.1220826], // EURUSD=X 2020-01-01 close
    [Math.fround(0.0001234), 0.0001234],
    [227.5, 227.5],
    [0, 0],
  ])('%p -> %p', (raw, meant) => {
    expect(shortestFloat32Decimal(raw)).toBe(meant);
  });

  it('leaves values that are not float32 widened to double, and non-finite values, as they are', () => {
    for (const v of [1.08563123456, 0.1, 225.89, Math.PI, NaN, Infinity]) {
      expect(Object.is(shortestFloat32Decimal(v), v)).toBe(true);
    }
  });

  it('maps every float32 value of the recorded Yahoo charts to a decimal of the same float32, no longer', () => {
    let seen = 0;
    for (const file of [
      'yahoo/chart-AAPL-1m-2024-10-02-regular-hours-with-nulls.json',
      'yahoo/chart-EURUSD_X-1d-2020-full-year.json',
      'yahoo/chart-BTC-USD-1d-2020-full-year-with-nulls.json',
    ]) {
      const body = JSON.parse(readFixture(file)) as {
        chart: { result: { indicators: { quote: Record<string, (number | null)[]>[] } }[] };
      };
      const q = body.chart.result[0]!.indicators.quote[0];
      for (const key of ['open', 'high', 'low', 'close']) {
        for (const raw of q![key] ?? []) {
          if (raw === null || Math.fround(raw) !== raw) continue;
          const meant = shortestFloat32Decimal(raw);
          expect(Math.fround(meant)).toBe(raw);
          expect(String(meant).replace(/^0\.0*|\./g, '').length).toBeLessThanOrEqual(
            String(raw).replace(/^0\.0*|\./g, '').length,
          );
          seen++;
        }
      }
    }
    expect(seen).toBeGreaterThan(1000);
  });

  it('property: for any decimal of up to 6 significant digits (FLT_DIG), float32(x) maps back to a decimal no longer than x with the same float32', () => {
    const next = rng(42);
    for (let i = 0; i < 5_000; i++) {
      const digits = 1 + Math.floor(next() * 6);
      const exp = Math.floor(next() * 10) - 4;
      const x = Number((next() * 10 ** exp).toPrecision(digits));
      if (x === 0) continue;
      const f = Math.fround(x);
      const meant = shortestFloat32Decimal(f);
      expect(Math.fround(meant)).toBe(f);
      // Float32 keeps every decimal of up to 6 digits apart (FLT_DIG), so it comes back exactly.
      expect(meant).toBe(x);
    }
  });

  it('property: any float32 bit pattern maps to a decimal of at most 9 digits with the same float32', () => {
    const next = rng(7);
    const buf = new DataView(new ArrayBuffer(4));
    for (let i = 0; i < 5_000; i++) {
      buf.setUint32(0, Math.floor(next() * 0x7f800000)); // positive finite float32s
      const f = buf.getFloat32(0);
      const meant = shortestFloat32Decimal(f);
      expect(Math.fround(meant)).toBe(f);
      expect(Number(meant.toPrecision(9))).toBe(meant);
    }
  });

  it('property: the fast path equals the string rule (shortest toPrecision(1..9)) on random float32 prices', () => {
    const next = rng(99);
    for (let i = 0; i < 20_000; i++) {
      const f = Math.fround(10 ** (next() * 11 - 4)); // 1e-4 .. 1e7
      const meant = shortestFloat32Decimal(f);
      const byString = shortestFloat32DecimalByString(f);
      if (meant !== byString) throw new Error(`${f}: fast ${meant}, string ${byString}`);
    }
  });
});
