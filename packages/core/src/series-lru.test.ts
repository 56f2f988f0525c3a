import fc from 'fast-check';
import { SeriesLru, type LruSeries } from './series-lru';

class S implements LruSeries<S> {
  lruPrev: S | null = null;
  lruNext: S | null = null;
  constructor(
    readonly symbol: string,
    readonly timeframe: string,
  ) {}
}

const keyOf = (s: S) => `${s.symbol}|${s.timeframe}`;

describe('SeriesLru', () => {
  it('finds series by symbol and timeframe, and drops the least recently used beyond its bound', () => {
    const lru = new SeriesLru<S>(3);
    const a = new S('A', '1m');
    const b = new S('B', '1m');
    const a5 = new S('A', '5m');
    expect([lru.add(a), lru.add(b), lru.add(a5)]).toEqual([null, null, null]);
    expect(lru.get('A', '1m')).toBe(a);
    expect(lru.get('A', '5m')).toBe(a5);
    expect(lru.get('A', '1h')).toBeUndefined();
    lru.touch(a); // order now b, a5, a
    expect([...lru.values()]).toEqual([b, a5, a]);
    const c = new S('C', '1m');
    expect(lru.add(c)).toBe(b);
    expect(lru.get('B', '1m')).toBeUndefined();
    expect(b.lruPrev).toBeNull();
    expect(b.lruNext).toBeNull();
    expect(lru.size).toBe(3);
    expect(lru.ofSymbol('A')).toEqual([a, a5]);
    expect(lru.delete(a5)).toBe(true);
    expect(lru.add(new S('D', '1m'))).toBeNull(); // a, c, d: within the bound
    expect(lru.add(new S('E', '1m'))).toBe(a);
  });

  it('reads without marking a series used', () => {
    const lru = new SeriesLru<S>(2);
    const a = new S('A', '1m');
    lru.add(a);
    lru.add(new S('B', '1m'));
    expect(lru.get('A', '1m')).toBe(a);
    expect(lru.ofSymbol('A')).toEqual([a]);
    expect(lru.add(new S('C', '1m'))).toBe(a);
  });

  it('starts a series evicted and added again as a new, most recent one', () => {
    const lru = new SeriesLru<S>(2);
    const a = new S('A', '1m');
    lru.add(a);
    lru.add(new S('B', '1m'));
    expect(lru.add(new S('C', '1m'))).toBe(a);
    const again = new S('A', '1m');
    expect(lru.add(again)?.symbol).toBe('B');
    expect(lru.get('A', '1m')).toBe(again);
    expect(lru.has(a)).toBe(false);
    expect(lru.size).toBe(2);
  });

  it('refuses what would corrupt the list or the count: touch or delete of a series not held, a second add of a key', () => {
    const lru = new SeriesLru<S>(4);
    const a = new S('A', '1m');
    const b = new S('B', '1m');
    lru.add(a);
    lru.add(b);
    const stranger = new S('A', '1m'); // same key as a, not held
    expect(() => lru.touch(stranger)).toThrow(/not held \(A 1m\)/);
    expect(lru.delete(stranger)).toBe(false);
    expect(() => lru.add(stranger)).toThrow(/already held \(A 1m\)/);
    expect(lru.delete(a)).toBe(true);
    expect(lru.delete(a)).toBe(false);
    expect(() => lru.touch(a)).toThrow(/not held/);
    expect(lru.size).toBe(1);
    expect([...lru.values()]).toEqual([b]);
    expect(lru.get('A', '1m')).toBeUndefined();
    expect(() => new SeriesLru<S>(0)).toThrow(RangeError);
  });

  it('clears every series, unlinked, and starts over', () => {
    const lru = new SeriesLru<S>(10);
    const all = ['A', 'B', 'C'].map((x) => new S(x, '1m'));
    for (const s of all) lru.add(s);
    const seen: S[] = [];
    lru.clear((s) => seen.push(s));
    expect(seen).toEqual(all);
    expect(all.every((s) => s.lruPrev === null && s.lruNext === null)).toBe(true);
    expect(lru.size).toBe(0);
    expect(lru.get('A', '1m')).toBeUndefined();
    lru.add(all[0] as S);
    expect(lru.size).toBe(1);
  });

  // The model: one Map in insertion order, re-inserted on use and trimmed from the front (what both
  // users held before issue 16). Every step compares the whole recency order, the links both ways,
  // the count and every lookup.
  it('keeps exactly the order, contents and evictions of a Map in recency order (property)', () => {
    const SYMBOLS = ['A', 'B', 'C', 'D', 'E'];
    const TIMEFRAMES = ['1m', '5m', '1h'];
    const sym = fc.constantFrom(...SYMBOLS);
    const tf = fc.constantFrom(...TIMEFRAMES);
    const op = fc.oneof(
      { weight: 6, arbitrary: fc.tuple(fc.constant('use' as const), sym, tf) },
      { weight: 2, arbitrary: fc.tuple(fc.constant('get' as const), sym, tf) },
      { weight: 2, arbitrary: fc.tuple(fc.constant('delete' as const), sym, tf) },
      { weight: 1, arbitrary: fc.tuple(fc.constant('deleteSymbol' as const), sym, fc.constant('')) },
      { weight: 1, arbitrary: fc.tuple(fc.constant('clear' as const), fc.constant(''), fc.constant('')) },
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), fc.array(op, { maxLength: 200 }), (max, ops) => {
        const lru = new SeriesLru<S>(max);
        const model = new Map<string, S>();
        for (const [kind, symbol, timeframe] of ops) {
          const key = `${symbol}|${timeframe}`;
          if (kind === 'use') {
            const held = lru.get(symbol, timeframe);
            expect(held).toBe(model.get(key));
            if (held !== undefined) {
              lru.touch(held);
              model.delete(key);
              model.set(key, held);
            } else {
              const s = new S(symbol, timeframe);
              const evicted = lru.add(s);
              model.set(key, s);
              let expected: S | null = null;
              if (model.size > max) {
                const [oldestKey, oldest] = model.entries().next().value as [string, S];
                model.delete(oldestKey);
                expected = oldest;
              }
              expect(evicted).toBe(expected);
              if (evicted !== null) expect([evicted.lruPrev, evicted.lruNext]).toEqual([null, null]);
            }
          } else if (kind === 'get') {
            expect(lru.get(symbol, timeframe)).toBe(model.get(key));
          } else if (kind === 'delete') {
            const s = lru.get(symbol, timeframe);
            if (s !== undefined) expect(lru.delete(s)).toBe(true);
            model.delete(key);
          } else if (kind === 'deleteSymbol') {
            for (const s of lru.ofSymbol(symbol)) expect(lru.delete(s)).toBe(true);
            for (const k of [...model.keys()]) if (k.startsWith(`${symbol}|`)) model.delete(k);
          } else {
            lru.clear();
            model.clear();
          }
          const order = [...lru.values()];
          expect(order.map(keyOf)).toEqual([...model.keys()]);
          expect(lru.size).toBe(model.size);
          // The links agree both ways: walking back from the tail gives the same list reversed.
          order.forEach((s, i) => {
            expect(s.lruPrev).toBe(order[i - 1] ?? null);
            expect(s.lruNext).toBe(order[i + 1] ?? null);
          });
          for (const s of SYMBOLS)
            for (const t of TIMEFRAMES) expect(lru.get(s, t)).toBe(model.get(`${s}|${t}`));
        }
      }),
      { numRuns: 300 },
    );
  });
});
