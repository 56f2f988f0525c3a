// The alert rules' metrics (deploy/prometheus/alerts.yml) scraped from /metrics of a real service:
// a Yahoo-format provider server, a real SQLite file whose flush is made to fail by a second
// connection holding the write lock, the bootstrap run for real.
import { createSyntheticFetcher } from '@pipeline/fetchers';
import { startProviderServer, type ProviderServer } from '@pipeline/fetchers/testing';
import { lintMetricsText } from '@pipeline/metrics';
import { createSqliteHistoryStore } from '@pipeline/sqlite-store';
import { cleanupTempDirs, openMarketClock, tempSqlitePath } from '@pipeline/test-utils';
import { createRequire } from 'node:module';
import { loadConfig } from './config';
import { createService, type Service } from './service';
import { at } from '../../test/at';

// The second connection uses the store's own better-sqlite3 (the sidecar does not depend on it directly).
const requireFromStore = createRequire(require.resolve('@pipeline/sqlite-store'));
const Database = requireFromStore('better-sqlite3') as new (path: string) => {
  exec(sql: string): void;
  close(): void;
};

/** One unlabelled sample's value from Prometheus text, or undefined when the series is absent. */
function sample(text: string, name: string): number | undefined {
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

const BOOTSTRAP_DAYS = 1;

describe('/metrics carries store flush failures and bootstrap progress', () => {
  // EURUSD trades Sunday 22:00 to Friday 22:00 UTC and closed hours are no gap: one real-time clock
  // for the service, the server and the store, shifted back by whole days at the weekend, so that
  // the bootstrap has the last BOOTSTRAP_DAYS of open hours to plan whatever the day it runs.
  const clock = openMarketClock({ lookbackMs: BOOTSTRAP_DAYS * 86_400_000 });
  let yahoo: ProviderServer;
  let service: Service;
  const sqlitePath = tempSqlitePath('health-metrics');
  const store = createSqliteHistoryStore({
    path: sqlitePath,
    mode: 'inline',
    busyTimeoutMs: 20,
    flushIntervalMs: 3_600_000,
    scheduler: clock,
  });

  beforeAll(async () => {
    yahoo = await startProviderServer({ fetcher: createSyntheticFetcher({ clock }), clock });
    const config = loadConfig({
      SYMBOLS: 'EURUSD',
      SOURCES: 'yahoo',
      YAHOO_BASE_URL: yahoo.url,
      SQLITE_PATH: sqlitePath,
      BOOTSTRAP_DAYS: String(BOOTSTRAP_DAYS),
      BATCH_WRITE_INTERVAL: '3600',
    });
    service = createService(config, { scheduler: clock, overrides: { store } });
  });

  afterAll(async () => {
    await service.close();
    await yahoo.close();
    cleanupTempDirs();
  });

  const scrape = async () => {
    const res = await service.app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    return res.body;
  };

  it('has no bootstrap series before a bootstrap ran, and 0 flush failures', async () => {
    const text = await scrape();
    expect(sample(text, 'pipeline_bootstrap_progress_ratio')).toBeUndefined();
    expect(sample(text, 'pipeline_bootstrap_done')).toBeUndefined();
    expect(sample(text, 'pipeline_store_flush_failures_total')).toBe(0);
  });

  it('reports a finished bootstrap as done, progress 1 and no failed chunks, as /health does', async () => {
    await service.sidecar.start({ loop: false });
    const health = service.sidecar.health();
    expect(health.bootstrap).toMatchObject({ done: true, failedChunks: 0 });
    expect(health.bootstrap!.chunksPlanned).toBeGreaterThan(0);
    const text = await scrape();
    expect(sample(text, 'pipeline_bootstrap_done')).toBe(1);
    expect(sample(text, 'pipeline_bootstrap_progress_ratio')).toBe(1);
    expect(sample(text, 'pipeline_bootstrap_chunks_failed_total')).toBe(0);
    expect(text).toContain('# TYPE pipeline_store_flush_failures_total counter');
    expect(lintMetricsText(text)).toEqual([]);
  });

  it('counts a flush that fails on a locked database, and keeps the count once the flush succeeds', async () => {
    await service.sidecar.runCycle();
    if (store.stats().pending === 0) {
      // The cycle's bar may already be stored; a fresh bar makes sure there is something to flush.
      const stored = await store.range({
        symbol: 'EURUSD',
        timeframe: '1m',
        from: 0,
        to: clock.now() + 86_400_000,
      });
      const last = at(stored, -1);
      store.write([{ ...last, ts: last.ts + 60_000 }]);
    }
    expect(store.stats().pending).toBeGreaterThan(0);
    const locker = new Database(sqlitePath);
    locker.exec('BEGIN IMMEDIATE');
    try {
      await expect(store.flush()).rejects.toMatchObject({ code: 'SQLITE_FLUSH_FAILED' });
      expect(sample(await scrape(), 'pipeline_store_flush_failures_total')).toBe(1);
    } finally {
      locker.exec('ROLLBACK');
      locker.close();
    }
    await store.flush();
    expect(store.stats().pending).toBe(0);
    expect(sample(await scrape(), 'pipeline_store_flush_failures_total')).toBe(1);
  });
});
