import { ManualClock, isPipelineError } from '@pipeline/core';
import { bar, runHotCacheContract } from './hot-cache.contract';
import { MEMORY_HOT_CACHE_DEFAULTS, createMemoryHotCache } from './memory-hot-cache';

runHotCacheContract('in-process', async (settings) => {
  const clock = new ManualClock();
  const cache = createMemoryHotCache({ ...settings, clock });
  return {
    cache,
    elapse: async (ms) => clock.advance(ms),
    teardown: () => cache.close(),
  };
});

describe('createMemoryHotCache', () => {
  it('uses MAX_BARS_CACHE and FEATURE_CACHE_TTL defaults', () => {
    expect(MEMORY_HOT_CACHE_DEFAULTS).toMatchObject({ maxBars: 5000, featureTtlMs: 2000 });
    expect(Object.isFrozen(MEMORY_HOT_CACHE_DEFAULTS)).toBe(true);
    expect(createMemoryHotCache().maxBars).toBe(5000);
  });

  it('rejects misspelled options and bad values, quoting them', () => {
    expect(() => createMemoryHotCache({ maxbars: 10 } as never)).toThrow(/unknown option "maxbars"/);
    expect(() => createMemoryHotCache({ maxBars: 0 })).toThrow(/"maxBars".*got 0/);
    expect(() => createMemoryHotCache({ featureTtlMs: Number.NaN })).toThrow(/"featureTtlMs".*got null/);
    try {
      createMemoryHotCache({ maxSeries: -1 });
    } catch (err) {
      expect(isPipelineError(err, 'INVALID_OPTIONS')).toBe(true);
    }
  });

  it('evicts the least recently written series beyond maxSeries', async () => {
    const cache = createMemoryHotCache({ maxSeries: 2, maxBars: 10 });
    await cache.writeBars([bar(0, { symbol: 'A' })]);
    await cache.writeBars([bar(0, { symbol: 'B' })]);
    await cache.writeBars([bar(1, { symbol: 'A' })]); // A is now the most recent
    await cache.writeBars([bar(0, { symbol: 'C' })]); // evicts B
    expect(await cache.seriesLength('A', '1m')).toBe(2);
    expect(await cache.seriesLength('B', '1m')).toBe(0);
    expect(await cache.seriesLength('C', '1m')).toBe(1);
    await cache.close();
  });

  it('bounds features and signals by maxSymbols', async () => {
    const cache = createMemoryHotCache({ maxSymbols: 2 });
    for (const s of ['A', 'B', 'C']) await cache.setSignal(s, { s });
    expect([...(await cache.getSignals(['A', 'B', 'C'])).keys()]).toEqual(['B', 'C']);
    await cache.close();
  });

  it('keeps the logical window exact while trimming lazily', async () => {
    const cache = createMemoryHotCache({ maxBars: 3, replaceWindow: 10 });
    for (let i = 0; i < 200; i++) await cache.writeBars([bar(i)]);
    expect((await cache.latestBars('EURUSD', '1m', 10)).map((b) => b.volume)).toEqual([197, 198, 199]);
    // replaceWindow is capped by what is still cached: bar 196 is gone
    expect(await cache.writeBars([bar(196), bar(197, { close: 2 })])).toMatchObject({
      refused: 1,
      replaced: 1,
    });
    expect(await cache.barsInRange('EURUSD', '1m', 0, Number.MAX_SAFE_INTEGER)).toHaveLength(3);
    await cache.close();
  });

  it('hands out copies: mutating a returned or written bar does not change the cache', async () => {
    const cache = createMemoryHotCache();
    const b = bar(0);
    await cache.writeBars([b]);
    b.close = 99;
    const [got] = await cache.latestBars('EURUSD', '1m', 1);
    got!.close = 98;
    expect((await cache.lastBar('EURUSD', '1m'))!.close).toBe(bar(0).close);
    await cache.close();
  });

  it('keeps every field exact through ring growth and wrap-around (columnar storage)', async () => {
    // 37 bars: the ring grows 16 -> 32 -> 37 and then wraps; replacements land on both sides of the seam.
    const cache = createMemoryHotCache({ maxBars: 37, replaceWindow: 37 });
    const sources = ['yahoo', 'polygon', 'twelvedata', 'replay'] as const;
    const mk = (i: number, v = 0) =>
      bar(i, {
        open: 1 + i / 7 + v,
        high: 2 + i / 7 + v,
        low: 0.5 + i / 7,
        close: 1.5 + i / 7 + v,
        volume: i * 0.1,
        quality: (i % 10) / 9,
        final: i % 3 !== 0,
        source: sources[i % 4],
        symbol: 'XAUUSD',
        timeframe: '5m',
      });
    const expected = new Map<number, ReturnType<typeof mk>>();
    let i = 0;
    for (const size of [5, 11, 1, 16, 3, 40, 7, 2, 20]) {
      const chunk = Array.from({ length: size }, (_, k) => mk(i + k));
      i += size;
      await cache.writeBars(chunk);
      for (const b of chunk) expected.set(b.ts, b);
      // replace a bar some way back (crosses the ring's seam once it wraps)
      const back = mk(i - Math.min(i, 30), 1);
      await cache.writeBars([back]);
      expected.set(back.ts, back);
    }
    const want = [...expected.values()].sort((a, b) => a.ts - b.ts).slice(-37);
    expect(await cache.seriesLength('XAUUSD', '5m')).toBe(37);
    expect(await cache.latestBars('XAUUSD', '5m', 100)).toEqual(want);
    expect(await cache.barsInRange('XAUUSD', '5m', want[3]!.ts, want[30]!.ts)).toEqual(want.slice(3, 30));
    expect(await cache.lastBar('XAUUSD', '5m')).toEqual(want[36]);
    await cache.close();
  });

  it('stores final as a boolean and rejects the 32768th distinct source name as invalid', async () => {
    const cache = createMemoryHotCache({ maxBars: 40_000 });
    await cache.writeBars([bar(0, { final: undefined as never })]);
    expect((await cache.lastBar('EURUSD', '1m'))!.final).toBe(false);
    const many = Array.from({ length: 0x7fff }, (_, i) => bar(i + 1, { source: `src${i}` as never }));
    const rejected: string[] = [];
    cache.onRejected((e) => rejected.push(...e.invalid.map((x) => x.issue)));
    // 'yahoo' (from bar 0) plus 32,766 new names fit; the last one does not
    expect(await cache.writeBars(many)).toMatchObject({ appended: 0x7fff - 1, invalid: 1 });
    expect(rejected).toEqual(['more than 32767 distinct source names']);
    expect((await cache.lastBar('EURUSD', '1m'))!.source).toBe('src32765');
    await cache.close();
  });
});
