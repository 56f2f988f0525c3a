// Quick start (the README shows this file). Run: npx tsx examples/quick-start.ts
// With REDIS_URL set it uses Redis, otherwise the in-process cache: the host decides, the API is the same.
import { type Bar } from '@pipeline/core';
import {
  createMemoryHotCache,
  createRedisHotCache,
  type HotCache,
  isCacheUnavailableError,
} from '@pipeline/redis-kb';

export async function quickStart(cache: HotCache): Promise<Bar[]> {
  await cache.ready();
  const status = cache.onStatusChange((c) =>
    console.log(`cache ${c.previous} -> ${c.status}`, c.lastError?.message ?? ''),
  );

  const t = Date.UTC(2024, 0, 2, 9, 30);
  const bar = (ts: number, close: number, final: boolean): Bar => ({
    symbol: 'EURUSD',
    timeframe: '1m',
    ts,
    open: 1.1,
    high: Math.max(1.1, close),
    low: Math.min(1.1, close),
    close,
    volume: 0,
    source: 'yahoo',
    final,
    quality: 1,
  });
  try {
    // One call for any number of symbols: the forming bar (same ts) replaces the cached one.
    console.log(await cache.writeBars([bar(t, 1.101, true), bar(t + 60_000, 1.102, false)]));
    console.log(await cache.writeBars([bar(t + 60_000, 1.103, false)])); // { appended: 0, replaced: 1, ... }
    await cache.setFeatures('EURUSD', { rsi14: 57.2 }); // gone after featureTtlMs (2 s)
    await cache.setSignal('EURUSD', { direction: 'long', confidence: 0.7 });
    return await cache.latestBars('EURUSD', '1m', 500); // oldest first
  } catch (err) {
    if (isCacheUnavailableError(err))
      console.log('Redis is down; serve the last bars you have and retry next cycle');
    throw err;
  } finally {
    status.dispose();
  }
}

if (process.argv[1]?.endsWith('quick-start.ts')) {
  const url = process.env.REDIS_URL;
  const poolSize = Number(process.env.REDIS_POOL_SIZE ?? '1'); // a bad value throws INVALID_OPTIONS, quoting it
  const cache: HotCache = url
    ? createRedisHotCache({ redis: url, keyPrefix: 'quickstart:', poolSize })
    : createMemoryHotCache();
  quickStart(cache)
    .then((bars) => console.log(bars))
    .finally(() => cache.close())
    .catch((err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    });
}
