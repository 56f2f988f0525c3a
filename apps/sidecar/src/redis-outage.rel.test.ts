// A Redis crash must not stop collection: bars keep flowing into SQLite, /health says degraded,
// and once Redis is back the cache is written again.
import { createSyntheticFetcher } from '@pipeline/fetchers';
import {
  cleanupTempDirs,
  openMarketClock,
  startRedisServer,
  tempSqlitePath,
  type RedisServerHandle,
} from '@pipeline/test-utils';
import { Redis } from 'ioredis';
import { loadConfig } from './wiring/config';
import { createService, type Service } from './wiring/service';

describe('Redis outage', () => {
  // EURUSD and XAUUSD trade Sunday 22:00 to Friday 22:00 UTC and closed hours are no gap: the service
  // and its source share one real-time clock, shifted back by whole days at the weekend, so that the
  // bootstrapped day (the > 1000 bars refilled below) was open whatever the day the test runs.
  const clock = openMarketClock({ lookbackMs: 86_400_000 });
  let redis: RedisServerHandle;
  let service: Service;
  beforeAll(async () => {
    redis = await startRedisServer();
    const config = loadConfig({
      SYMBOLS: 'EURUSD,XAUUSD',
      SOURCES: 'synthetic',
      REDIS_URL: redis.url,
      SQLITE_PATH: tempSqlitePath('rel'),
      BOOTSTRAP_DAYS: '1',
    });
    service = createService(config, {
      scheduler: clock,
      overrides: {
        sources: [{ name: 'synthetic', fetcher: createSyntheticFetcher({ clock }) }],
      },
    });
    await service.sidecar.start({ loop: false });
  });
  afterAll(async () => {
    await service.close();
    await redis.stop();
    cleanupTempDirs();
  });

  it('keeps collecting into SQLite while Redis is down and refills the cache after', async () => {
    expect((await service.sidecar.runCycle()).ok).toBe(2);
    await redis.kill();
    await new Promise((r) => setTimeout(r, 300));
    for (let i = 0; i < 3; i++) expect((await service.sidecar.runCycle()).ok).toBe(2);
    const h = service.sidecar.health();
    expect(h.storage.cache).not.toBe('redis:ready');
    expect(h.status).toBe('degraded');
    await service.deps.store.flush();
    const bars = await service.sidecar.bars('EURUSD', '1m', 5);
    expect(bars.bars.length).toBeGreaterThan(0);
    expect(bars.stale).toBe(false);

    await redis.restart();
    const probe = new Redis(redis.url);
    try {
      const deadline = Date.now() + 15_000;
      while (service.sidecar.health().storage.cache !== 'redis:ready' && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(service.sidecar.health().storage.cache).toBe('redis:ready');
      await service.sidecar.runCycle();
      const keys = await probe.keys('pipeline:*{EURUSD}*');
      expect(keys.length).toBeGreaterThan(0);
      // Redis came back empty: the cache is refilled from SQLite (the bootstrapped day and the
      // outage's bars), not only with what arrived since.
      const cached = await service.deps.cache.latestBars('EURUSD', '1m', 5000);
      const stored = await service.deps.store.latest('EURUSD', '1m', 5000);
      expect(cached.length).toBe(stored.length);
      expect(cached.length).toBeGreaterThan(1000);
      expect(cached.at(-1)!.ts).toBe(stored.at(-1)!.ts);
    } finally {
      probe.disconnect();
    }
  });
});
