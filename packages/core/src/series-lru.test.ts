import { SeriesLru, type LruSeries } from './series-lru';

class S implements LruSeries<S> {
  lruPrev: S | null = null;
  lruNext: S | null = null;
  constructor(
    readonly symbol: string,
    readonly timeframe: string,
  ) {}
}

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
    const c = new S('C', '1m');
    expect(lru.add(c)).toBe(b);
    expect(lru.get('B', '1m')).toBeUndefined();
    expect(b.lruPrev).toBeNull();
    expect(b.lruNext).toBeNull();
    expect(lru.size).toBe(3);
    expect(lru.ofSymbol('A')).toEqual([a, a5]);
    lru.delete(a5);
    expect(lru.add(new S('D', '1m'))).toBeNull(); // a, c, d: within the bound
    expect(lru.add(new S('E', '1m'))).toBe(a);
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
});
