import { ManualClock, isPipelineError } from '@pipeline/core';
import { createFetcher, createFetchers } from './registry';

describe('createFetcher / createFetchers', () => {
  it('builds fetchers by name in fallback order and skips keyed sources without a key', async () => {
    const clock = new ManualClock();
    const built = createFetchers({
      sources: ['yahoo', 'alphavantage', 'twelvedata', 'polygon', 'synthetic'],
      apiKeys: { twelvedata: 'td-key' },
      baseUrls: { yahoo: 'http://127.0.0.1:9' },
      clock,
      poolSize: 2,
    });
    try {
      expect(built.fetchers.map((f) => f.source)).toEqual(['yahoo', 'twelvedata', 'synthetic']);
      expect(built.skipped).toEqual([
        { source: 'alphavantage', reason: 'no API key' },
        { source: 'polygon', reason: 'no API key' },
      ]);
      const bars = await built.fetchers[2]!.fetchLatest({ symbol: 'EURUSD', timeframe: '1m', limit: 2 });
      expect(bars.map((b) => b.ts)).toEqual([clock.now() - 60_000, clock.now()]);
    } finally {
      await built.close();
    }
  });

  it('passes per-source options and rejects unknown names and misspelled options', () => {
    expect(createFetcher('synthetic', { seed: 3 }).source).toBe('synthetic');
    expect(() => createFetchers({ sources: ['yahoo', 'bloomberg' as never] })).toThrow(
      /unknown source "bloomberg"/,
    );
    let err: unknown;
    try {
      createFetchers({ sources: ['yahoo'], options: { yahoo: { baseURL: 'x' } as never } });
    } catch (e) {
      err = e;
    }
    expect(isPipelineError(err, 'INVALID_OPTIONS')).toBe(true);
  });
});
