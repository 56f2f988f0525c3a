// The "Porting traps" of the README, each held against the libraries it names (dev dependencies:
// trading-signals 8.3, technicalindicators 3.1), so the README cannot drift from what they do.
import * as tradingSignals from 'trading-signals';
import * as technicalIndicators from 'technicalindicators';
import { MACD, RSI, macdBatch, rsiBatch } from '../src';

const flat = Array<number>(30).fill(100);
const wave = Array.from({ length: 60 }, (_, i) => 100 + Math.sin(i / 5) * 3);

/** Where a property is defined along the prototype chain (or on the object itself). */
function descriptorOf(obj: object, key: string): PropertyDescriptor | undefined {
  for (let o: object | null = obj; o !== null; o = Object.getPrototypeOf(o) as object | null) {
    const d = Object.getOwnPropertyDescriptor(o, key);
    if (d !== undefined) return d;
  }
  return undefined;
}

describe('porting traps (README)', () => {
  it('RSI over a flat window is 0 here (TA-Lib), 100 in trading-signals and technicalindicators', () => {
    const ours = new RSI({ period: 14 });
    for (const x of flat) ours.add(x);
    expect(ours.getResult()).toBe(0);
    expect(Array.from(rsiBatch(flat, { period: 14 }).subarray(14))).toEqual(Array<number>(16).fill(0));

    const ts = new tradingSignals.RSI(14);
    for (const x of flat) ts.add(x);
    expect(Number(ts.getResult())).toBe(100);

    const ti = technicalIndicators.RSI.calculate({ period: 14, values: flat });
    expect(ti.length).toBeGreaterThan(0);
    expect(new Set(ti)).toEqual(new Set([100]));
  });

  it('isStable is a method here, a getter in trading-signals', () => {
    const ours = new RSI({ period: 14 });
    expect(typeof descriptorOf(ours, 'isStable')?.value).toBe('function');
    for (const x of wave) ours.add(x);
    expect(ours.isStable()).toBe(true);

    const ts = new tradingSignals.RSI(14);
    const d = descriptorOf(ts, 'isStable');
    expect(typeof d?.get).toBe('function');
    expect(d?.value).toBeUndefined();
    for (const x of wave) ts.add(x);
    expect(ts.isStable).toBe(true);
  });

  it("MACD's first value comes at bar 33 here (TA-Lib), at bar 25 in trading-signals and technicalindicators", () => {
    const firstIndex = (add: (x: number, i: number) => boolean): number => {
      for (let i = 0; i < wave.length; i++) if (add(wave[i]!, i)) return i;
      return -1;
    };
    const ours = new MACD();
    expect(firstIndex((x) => (ours.add(x), ours.getResult() !== null))).toBe(33);
    expect(ours.lookback).toBe(33);
    const batch = macdBatch(wave);
    expect(Number.isNaN(batch.macd[32]) && !Number.isNaN(batch.macd[33])).toBe(true);

    const ts = new tradingSignals.MACD(
      new tradingSignals.EMA(12),
      new tradingSignals.EMA(26),
      new tradingSignals.EMA(9),
    );
    expect(firstIndex((x) => (ts.add(x), ts.getResult() !== null && ts.isStable))).toBe(25);

    const ti = technicalIndicators.MACD.calculate({
      values: wave,
      fastPeriod: 12,
      slowPeriod: 26,
      signalPeriod: 9,
      SimpleMAOscillator: false,
      SimpleMASignal: false,
    });
    // One output per input from bar 25 on; the signal line appears 8 outputs later (bar 33).
    expect(wave.length - ti.length).toBe(25);
    expect(ti.findIndex((r) => r.signal !== undefined)).toBe(8);
  });
});
