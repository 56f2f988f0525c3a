import { type Bar } from '@pipeline/core';
import { type FeatureValues } from '../ports';
import {
  adjustedConfidence,
  ageSignal,
  BookSignal,
  createDefaultStrategy,
  DecisionFields,
  type StoredSignal,
} from './scanner';

const bar = (close: number): Bar => ({
  symbol: 'EURUSD',
  timeframe: '1m',
  ts: 0,
  open: close,
  high: close,
  low: close,
  close,
  volume: 0,
  source: 'synthetic',
  final: true,
  quality: 1,
});

describe('default strategy', () => {
  const s = createDefaultStrategy();

  it('goes long when trend, momentum and MACD agree, with an ATR stop below and target above', () => {
    const r = s.evaluate({
      symbol: 'EURUSD',
      bar: bar(1.1),
      features: {
        ema12: 1.09,
        ema26: 1.08,
        rsi14: 62,
        macd_hist: 0.0004,
        bb_upper: 1.12,
        bb_lower: 1.06,
        atr14: 0.002,
      },
    });
    expect(r.direction).toBe('long');
    // 0.4 + 0.2 + 0.25 + 0.15 * ((1.1 - 1.06) / 0.06 - 0.5) * 2
    expect(r.confidence).toBeCloseTo(0.85 + 0.15 * ((0.04 / 0.06 - 0.5) * 2), 3);
    expect(r.stop).toBeCloseTo(1.1 - 1.5 * 0.002, 10);
    expect(r.target).toBeCloseTo(1.1 + 3 * 0.002, 10);
    expect(r.reasons.join(' ')).toMatch(/trend up.*momentum up.*MACD histogram positive/);
  });

  it('decides without reasons and explains on demand exactly as evaluate does', () => {
    const cases: FeatureValues[] = [
      {
        ema12: 1.09,
        ema26: 1.08,
        rsi14: 62,
        macd_hist: 0.0004,
        bb_upper: 1.12,
        bb_lower: 1.06,
        atr14: 0.002,
      },
      { ema12: 1.07, ema26: 1.08, rsi14: 50, macd_hist: 0, bb_upper: 1.12, bb_lower: 1.06 },
      { ema12: null, ema26: null },
    ];
    const into = new DecisionFields();
    for (const features of cases) {
      const input = { symbol: 'EURUSD', bar: bar(1.1), features };
      const { reasons, ...decision } = s.evaluate(input);
      expect(s.decide!(input)).toEqual(decision);
      expect(s.explain!(input)).toEqual(reasons);
      // In place: the same decision, into an object written over (stale stop and target numbers
      // from the previous case stay, flagged absent).
      s.decideInto!(input, into);
      expect(into.toDecision()).toEqual(decision);
      expect([into.hasStop, into.hasTarget]).toEqual([decision.stop !== null, decision.target !== null]);
    }
  });

  it('goes short on the mirror image', () => {
    const r = s.evaluate({
      symbol: 'EURUSD',
      bar: bar(1.07),
      features: {
        ema12: 1.07,
        ema26: 1.08,
        rsi14: 38,
        macd_hist: -0.0004,
        bb_upper: 1.12,
        bb_lower: 1.06,
        atr14: 0.002,
      },
    });
    expect(r.direction).toBe('short');
    expect(r.stop!).toBeGreaterThan(1.07);
    expect(r.target!).toBeLessThan(1.07);
  });

  it('is flat when signals disagree, and when indicators are not stable yet', () => {
    const mixed = s.evaluate({
      symbol: 'X',
      bar: bar(1),
      features: { ema12: 1.1, ema26: 1, rsi14: 40, macd_hist: -1 },
    });
    expect(mixed.direction).toBe('flat');
    expect(mixed.stop).toBeNull();
    const empty = s.evaluate({ symbol: 'X', bar: bar(1), features: { ema12: null, ema26: null } });
    expect(empty).toMatchObject({ direction: 'flat', confidence: 0 });
  });

  it('rejects bad options quoting the value', () => {
    expect(() => createDefaultStrategy({ threshold: 2 })).toThrow(/threshold.*got 2/);
  });
});

describe('confidence adjustment', () => {
  it('scales by quality, halves when stale and fades to zero', () => {
    expect(adjustedConfidence(0.8, 1, 0, 10_000)).toBe(0.8);
    expect(adjustedConfidence(0.8, 0.5, 0, 10_000)).toBe(0.4);
    expect(adjustedConfidence(0.8, 1, 10_001, 10_000)).toBeCloseTo(0.4, 3);
    expect(adjustedConfidence(0.8, 1, 110_000, 10_000)).toBe(0);
  });

  it('ages a stored signal', () => {
    const stored = { rawConfidence: 0.6, quality: 1, dataAt: 1000, confidence: 0.6 } as StoredSignal;
    expect(ageSignal(stored, 5000, 10_000)).toMatchObject({ ageMs: 4000, stale: false, confidence: 0.6 });
    expect(ageSignal(stored, 21_000, 10_000)).toMatchObject({ ageMs: 20_000, stale: true, confidence: 0.27 });
  });

  it('ages a signal of the book field by field into the same object the generic copy makes', () => {
    const input = {
      symbol: 'EURUSD',
      bar: { ...bar(1.25), ts: 60_000, quality: 0.5 },
      features: { rsi14: 61 },
    };
    const book = new BookSignal(
      { direction: 'long', confidence: 0.7, stop: 1.2, target: 1.4 },
      ['because'],
      input,
      'EURUSD.x',
      'test',
      1000,
      1200,
    );
    const plain: StoredSignal = { ...book };
    expect(plain).not.toBeInstanceOf(BookSignal);
    for (const now of [1000, 5000, 21_000, 500_000]) {
      const fast = ageSignal(book, now, 10_000);
      const generic = ageSignal(plain, now, 10_000);
      expect(fast).not.toBeInstanceOf(BookSignal);
      // Same keys in the same order (the JSON clients get), same values.
      expect(JSON.stringify(fast)).toBe(JSON.stringify(generic));
      expect(fast).toEqual(generic);
    }
    expect(ageSignal(book, 5000, 10_000)).toMatchObject({
      price: 1.25,
      dataTs: 60_000,
      quality: 0.5,
      confidence: 0.35,
    });
  });
});
