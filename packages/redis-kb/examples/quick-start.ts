// Quick start of @pipeline/redis-kb (the README shows this file verbatim; src/examples.int.test.ts runs it).
// Run: npx tsx quick-start.ts (in-process cache) or REDIS_URL=redis://127.0.0.1:6379 npx tsx quick-start.ts
import {
  createMemoryHotCache,
  createRedisHotCache,
  isCacheUnavailableError,
  type Bar,
  type HotCache,
} from '@pipeline/redis-kb';

// The host reads the environment, never this package. Keys go under REDIS_KEY_PREFIX, not the
// pipeline's default 'pipeline:', so trying this out does not touch a running sidecar's data.
const url = process.env.REDIS_URL;
const keyPrefix = process.env.REDIS_KEY_PREFIX ?? 'quickstart:';
const poolSize = Number(process.env.REDIS_POOL_SIZE ?? '1'); // a bad value throws INVALID_OPTIONS, quoting it
const cache: HotCache = url
  ? createRedisHotCache({ redis: url, keyPrefix, poolSize })
  : createMemoryHotCache();
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
  await cache.ready(); // Redis: waits for the connection (rejects after connectTimeoutMs)
  // One call for any number of symbols: the forming bar (same ts) replaces the cached one.
  console.log(await cache.writeBars([bar(t, 1.101, true), bar(t + 60_000, 1.102, false)]));
  console.log(await cache.writeBars([bar(t + 60_000, 1.103, false)])); // { appended: 0, replaced: 1, ... }
  await cache.setFeatures('EURUSD', { rsi14: 57.2 }); // gone after featureTtlMs (2 s)
  await cache.setSignal('EURUSD', { direction: 'long', confidence: 0.7 });
  const bars = await cache.latestBars('EURUSD', '1m', 500); // oldest first
  console.log(bars.map((b) => `${new Date(b.ts).toISOString()} ${b.close}${b.final ? '' : ' (forming)'}`));
} catch (err) {
  if (isCacheUnavailableError(err))
    console.log('Redis is down; serve the last bars you have and retry next cycle');
  throw err;
} finally {
  status.dispose();
  await cache.close(); // closes the connections the cache opened, so the process can exit
}
