import { type Bar } from '@pipeline/core';
import { stageFixture } from './stage-fixtures';
import { warmStart, WARM_BARS } from './warm';

const MIN = 60_000;

describe('warm start', () => {
  it('feeds the newest stored bars to the indicators, sets the last bar and fills the cache', async () => {
    const f = stageFixture();
    try {
      const t0 = Date.UTC(2024, 0, 2);
      const history: Bar[] = Array.from({ length: WARM_BARS + 100 }, (_, i) => ({
        symbol: 'EURUSD',
        timeframe: '1m',
        ts: t0 + i * MIN,
        open: 1.1,
        high: 1.2,
        low: 1,
        close: 1.1 + (i % 7) * 0.001,
        volume: 0,
        source: 'synthetic',
        final: true,
        quality: 1,
      }));
      await f.store.backfill(history);
      await warmStart({ ...f, symbols: f.config.symbols, timeframe: '1m' });
      expect(f.states.get('EURUSD').lastBar?.ts).toBe(history.at(-1)!.ts);
      expect(f.states.get('XAUUSD').lastBar).toBeNull();
      expect(f.features.latest('EURUSD')?.macd_hist).toEqual(expect.any(Number));
      expect(await f.cache.latestBars('EURUSD', '1m', 10_000)).toHaveLength(WARM_BARS + 100);
    } finally {
      await f.close();
    }
  });
});
