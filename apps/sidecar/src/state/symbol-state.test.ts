import { createSymbolStates, isStale } from './symbol-state';

describe('symbol state', () => {
  it('has one staleness rule: never answered, or older than STALE_AFTER', () => {
    expect(isStale(null, 10_000)).toBe(true);
    expect(isStale(10_000, 10_000)).toBe(false);
    expect(isStale(10_001, 10_000)).toBe(true);
  });

  it('keeps one state per configured symbol with its broker spelling and reports freshness', () => {
    const states = createSymbolStates({
      symbols: ['EURUSD', 'XAUUSD'],
      toBroker: (s) => `${s}.b`,
      staleAfterMs: 10_000,
    });
    expect([...states.all()].map((s) => [s.symbol, s.brokerSymbol])).toEqual([
      ['EURUSD', 'EURUSD.b'],
      ['XAUUSD', 'XAUUSD.b'],
    ]);
    const s = states.get('EURUSD');
    expect(states.freshness(s, 5_000)).toEqual({ ageMs: null, stale: true, reason: 'no_answer' });
    s.lastSuccessAt = 1_000;
    expect(states.freshness(s, 5_000)).toEqual({ ageMs: 4_000, stale: false, reason: null });
    expect(states.freshness(s, 20_000)).toEqual({ ageMs: 19_000, stale: true, reason: 'no_answer' });
    expect(states.find('GBPUSD')).toBeUndefined();
    expect(() => states.get('GBPUSD')).toThrow(/GBPUSD/);
  });
});
