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
    got.close = 98;
    expect((await cache.lastBar('EURUSD', '1m'))!.close).toBe(bar(0).close);
    await cache.close();
  });
});
