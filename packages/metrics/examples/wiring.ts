// Wiring the breaker, the fetchers, the history store and the hot cache into the scrape-time gauges
// (the README shows this file; `pnpm --filter @pipeline/metrics typecheck` compiles it against the
// real packages' types and src/wiring.test.ts runs it). @pipeline/metrics does not depend on any of
// them: a bot that has them passes them in.
import { type BreakerRegistry } from '@pipeline/breaker';
import { type HotCache } from '@pipeline/redis-kb';
import { type Fetcher, type HistoryStore, type PipelineMetrics, type Timeframe } from '@pipeline/metrics';

export interface MetricsWiring {
  breakers: BreakerRegistry;
  fetchers: readonly Fetcher[];
  /** Any store with `stats()` (pending, failedFlushes): core's HistoryStore port, sqlite-store, pg-store. */
  store: Pick<HistoryStore, 'stats'>;
  cache: Pick<HotCache, 'lastBar'>;
  symbols: readonly string[];
  timeframe: Timeframe;
}

export function wireMetrics(metrics: PipelineMetrics, w: MetricsWiring) {
  return metrics.onScrape(async () => {
    const stats = w.store.stats();
    return {
      breakers: Object.fromEntries(Object.entries(w.breakers.snapshot()).map(([s, h]) => [s, h?.state])),
      rateBudgets: Object.fromEntries(w.fetchers.map((f) => [f.source, f.budget()])),
      pendingWrites: stats.pending,
      storeFlushFailures: stats.failedFlushes,
      lastBarTs: Object.fromEntries(
        await Promise.all(
          w.symbols.map(
            async (symbol) => [symbol, (await w.cache.lastBar(symbol, w.timeframe))?.ts ?? null] as const,
          ),
        ),
      ),
    };
  });
}
