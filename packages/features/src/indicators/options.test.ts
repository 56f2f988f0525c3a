import { isPipelineError } from '@pipeline/core';
import { ADX, ATR, BollingerBands, EMA, MACD, OBV, RSI, SMA, StdDev, Stochastic } from '../index';

describe('indicator options', () => {
  it.each([
    ['SMA', () => new SMA({ peroid: 5 } as never), /unknown option "peroid"/],
    ['SMA', () => new SMA({ period: 0 }), /"period".*got 0/],
    ['EMA', () => new EMA({ period: 2.5 }), /integer, got 2.5/],
    ['RSI', () => new RSI({ period: 1 }), /got 1/],
    ['MACD', () => new MACD({ fast: 26, slow: 12 }), /"fast" \(26\) must be less than "slow" \(12\)/],
    ['BollingerBands', () => new BollingerBands({ mode: 'fast' as never }), /"fast"/],
    ['BollingerBands', () => new BollingerBands({ stdDev: -1 }), /got -1/],
    ['ATR', () => new ATR({ period: Number.NaN }), /got null/],
    ['ADX', () => new ADX({ period: 1 }), /got 1/],
    ['Stochastic', () => new Stochastic({ kPeriod: 0 }), /"kPeriod"/],
    ['StdDev', () => new StdDev({ multiplier: -2 }), /got -2/],
    ['OBV', () => new OBV({ period: 3 } as never), /unknown option "period"/],
  ])('%s rejects bad options with INVALID_OPTIONS', (_name, make, message) => {
    let caught: unknown;
    try {
      make();
    } catch (e) {
      caught = e;
    }
    expect(isPipelineError(caught, 'INVALID_OPTIONS')).toBe(true);
    expect((caught as Error).message).toMatch(message);
  });

  it('uses the documented defaults', () => {
    expect(new MACD().lookback).toBe(33);
    expect(new RSI().lookback).toBe(14);
    expect(new ADX().lookback).toBe(27);
    expect(new Stochastic().lookback).toBe(17);
    expect(new BollingerBands().lookback).toBe(19);
    expect(new ATR().lookback).toBe(14);
    expect(new EMA().lookback).toBe(11);
    expect(new SMA().lookback).toBe(19);
    expect(new OBV().lookback).toBe(0);
  });
});
