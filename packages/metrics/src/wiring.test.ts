// The README's wiring example (examples/wiring.ts) against the real breaker, a real synthetic fetcher
// and the real in-process hot cache: the scrape-time gauges show what those parts report.
import { createBreakerRegistry } from '@pipeline/breaker';
import { createSyntheticFetcher } from '@pipeline/fetchers';
import { createMemoryHotCache } from '@pipeline/redis-kb';
import { wireMetrics } from '../examples/wiring';
import { ManualClock, createPipelineMetrics, type HistoryStore } from './index';

it('wireMetrics feeds breaker states, rate budgets, pending writes and data age into the scrape', async () => {
  const clock = new ManualClock(Date.UTC(2024, 0, 2, 10, 0));
  const breakers = createBreakerRegistry({
    clock,
    breaker: { failureThreshold: 1 },
    retry: { maxAttempts: 1 },
  });
  await breakers.execute('polygon', () => Promise.reject(new Error('HTTP 503'))).catch(() => undefined);
  await breakers.execute('yahoo', () => Promise.resolve(1));
  const cache = createMemoryHotCache({ clock });
  const ts = Date.UTC(2024, 0, 2, 9, 59);
  await cache.writeBars([
    {
      symbol: 'EURUSD',
      timeframe: '1m',
      ts,
      open: 1.1,
      high: 1.2,
      low: 1.0,
      close: 1.15,
      volume: 0,
      source: 'yahoo',
      final: true,
      quality: 1,
    },
  ]);
  const store: Pick<HistoryStore, 'stats'> = {
    stats: () => ({ pending: 17, flushes: 0, failedFlushes: 3, flushedRows: 0, rejectedBars: 0 }),
  };
  const metrics = createPipelineMetrics({ clock });
  const sub = wireMetrics(metrics, {
    breakers,
    fetchers: [createSyntheticFetcher()],
    store,
    cache,
    symbols: ['EURUSD', 'XAUUSD'],
    timeframe: '1m',
  });
  const text = await metrics.text();
  expect(text).toContain('pipeline_breaker_state{source="polygon",state="open"} 1');
  expect(text).toContain('pipeline_breaker_state{source="yahoo",state="closed"} 1');
  expect(text).toContain('pipeline_pending_writes 17');
  expect(text).toContain('pipeline_store_flush_failures_total 3');
  expect(text).toContain('pipeline_data_age_seconds{symbol="EURUSD"} 60');
  expect(text).not.toContain('symbol="XAUUSD"'); // no bar yet: no series
  sub.dispose();
  metrics.close();
  await cache.close();
});

it('extraSources lets a breaker-guarded broker API keep its own source label; other names stay "other"', async () => {
  const metrics = createPipelineMetrics({ extraSources: ['ib-orders'] });
  metrics.onScrape(() => ({ breakers: { 'ib-orders': 'open', 'some-other-api': 'open' } }));
  metrics.fetchErrors.inc({ source: 'ib-orders', kind: 'transient' });
  const text = await metrics.text();
  expect(text).toContain('pipeline_breaker_state{source="ib-orders",state="open"} 1');
  expect(text).toContain('pipeline_breaker_state{source="other",state="open"} 1');
  expect(text).toContain('pipeline_fetch_errors_total{source="ib-orders",kind="transient"} 1');
  metrics.close();
  expect(() => createPipelineMetrics({ extraSources: ['bad name!'] })).toThrow(/extraSources.*"bad name!"/);
});
