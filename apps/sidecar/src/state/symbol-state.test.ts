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

  it('finds each state whatever the order of the lookups, new or repeated (the state that followed last time is tried first)', () => {
    const symbols = Array.from({ length: 40 }, (_, i) => `S${i}`);
    const states = createSymbolStates({ symbols, toBroker: (s) => s, staleAfterMs: 10_000 });
    const byOrder = [...states.all()];
    const orders = [
      symbols,
      [...symbols].reverse(),
      symbols.flatMap((s) => [s, s]),
      symbols.filter((_, i) => i % 3 === 0),
      symbols.map((_, i) => symbols[(i * 7) % symbols.length] ?? ''),
    ];
    for (const order of orders.flatMap((o) => [o, o])) {
      for (const symbol of order) {
        const s = states.get(symbol);
        expect(s.symbol).toBe(symbol);
        expect(s).toBe(byOrder[symbols.indexOf(symbol)]);
        expect(states.find(symbol)).toBe(s);
      }
      // A symbol not collected, and a copy of a name (another string object), between them.
      expect(states.find('NOPE')).toBeUndefined();
      expect(states.get(['S', '1'].join(''))).toBe(byOrder[1]);
    }
    // The states are plain to their readers: the interface's fields, in its order, nothing else.
    expect(Object.keys(states.get('S0'))).toEqual([
      'symbol',
      'brokerSymbol',
      'lastBar',
      'lastSuccessAt',
      'lastSource',
      'lastAdvanceAt',
      'consecutiveFailures',
      'lastAttempts',
    ]);
    expect(JSON.parse(JSON.stringify(states.get('S0')))).toEqual({
      symbol: 'S0',
      brokerSymbol: 'S0',
      lastBar: null,
      lastSuccessAt: null,
      lastSource: null,
      lastAdvanceAt: null,
      consecutiveFailures: 0,
      lastAttempts: [],
    });
  });

  it('asks a symbol’s calendar once, when the rule first needs it, and judges stale as freshness() does', () => {
    const asked: string[] = [];
    // Wednesday 2024-01-03 15:00 UTC: FX open.
    const T = Date.UTC(2024, 0, 3, 15, 0, 0);
    const states = createSymbolStates({
      symbols: ['EURUSD', 'XAUUSD'],
      toBroker: (s) => s,
      staleAfterMs: 10_000,
      timeframe: '1m',
      calendarFor: (s) => (asked.push(s), 'fx'),
    });
    const s = states.get('EURUSD');
    expect(states.stale(s, T)).toBe(true); // never answered: no calendar needed
    expect(asked).toEqual([]);
    s.lastSuccessAt = T;
    s.lastAdvanceAt = T - 11_000;
    s.lastBar = {
      symbol: 'EURUSD',
      timeframe: '1m',
      ts: T - 60_000,
      open: 1,
      high: 1,
      low: 1,
      close: 1,
      volume: 0,
      source: 'yahoo',
      final: false,
      quality: 1,
    };
    for (const now of [T, T + 5_000, T + 9_000, T + 11_000]) {
      expect(states.stale(s, now)).toBe(states.freshness(s, now).stale);
    }
    expect(states.freshness(s, T)).toEqual({ ageMs: 11_000, stale: true, reason: 'frozen' });
    expect(asked).toEqual(['EURUSD']);
    // Facts that are not one of its states: asked each time.
    const facts = { ...s };
    states.freshness(facts, T);
    states.stale(facts, T);
    expect(asked).toEqual(['EURUSD', 'EURUSD', 'EURUSD']);
  });
});
