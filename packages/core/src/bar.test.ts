import { alignTs, barKey, isSourceName, isTimeframe, TIMEFRAME_MS, TIMEFRAMES } from './index';

describe('timeframes', () => {
  it('lists every timeframe finest first with increasing lengths', () => {
    const lengths = TIMEFRAMES.map((tf) => TIMEFRAME_MS[tf]);
    expect([...lengths].sort((a, b) => a - b)).toEqual(lengths);
    expect(TIMEFRAMES).toEqual(['1s', '1m', '5m', '15m', '30m', '1h', '4h', '1d']);
  });

  it('recognises timeframes and sources and nothing else', () => {
    expect(isTimeframe('5m')).toBe(true);
    expect(isTimeframe('2m')).toBe(false);
    expect(isTimeframe('toString')).toBe(false);
    expect(isSourceName('polygon')).toBe(true);
    expect(isSourceName('bloomberg')).toBe(false);
  });

  it('aligns to UTC bar opens, including before 1970', () => {
    const t = Date.UTC(2024, 2, 10, 13, 47, 31, 250);
    expect(alignTs(t, '1m')).toBe(Date.UTC(2024, 2, 10, 13, 47));
    expect(alignTs(t, '15m')).toBe(Date.UTC(2024, 2, 10, 13, 45));
    expect(alignTs(t, '4h')).toBe(Date.UTC(2024, 2, 10, 12));
    expect(alignTs(t, '1d')).toBe(Date.UTC(2024, 2, 10));
    expect(alignTs(-1, '1m')).toBe(-60_000);
  });

  it('keys bars by symbol, timeframe and open time only', () => {
    expect(barKey({ symbol: 'EURUSD', timeframe: '1m', ts: 60_000 })).toBe('EURUSD|1m|60000');
  });
});
