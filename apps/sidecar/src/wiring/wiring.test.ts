import { ManualClock, type Bar } from '@pipeline/core';
import { createValidatorFromConfig } from './wiring';
import { testConfig } from '../../test/harness';

describe('the validator from the config', () => {
  it('keeps one series state per symbol beyond the default 10,000, so no live bar is judged against a blank state', () => {
    const symbols = Array.from({ length: 10_500 }, (_, i) => `S${i}`);
    const clock = new ManualClock(Date.UTC(2024, 0, 3, 12, 0, 0));
    const v = createValidatorFromConfig(
      testConfig({ SYMBOLS: symbols.join(','), SQLITE_PATH: ':memory:' }),
      clock,
    );
    const ts = Date.UTC(2024, 0, 3, 11, 59, 0);
    const bar = (symbol: string, at: number): Bar => ({
      symbol,
      timeframe: '1m',
      ts: at,
      open: 1.1,
      high: 1.2,
      low: 1,
      close: 1.15,
      volume: 1,
      source: 'synthetic',
      final: true,
      quality: 1,
    });
    for (const s of symbols) v.validate(bar(s, ts));
    expect(v.seriesCount).toBe(symbols.length);
    // The first symbol still remembers its bar: an older one is out of order.
    expect(v.validate(bar('S0', ts - 60_000)).status).toBe('rejected');
  });
});
