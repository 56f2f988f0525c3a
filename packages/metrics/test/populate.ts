import { type ManualClock } from '@pipeline/core';
import { type PipelineMetrics } from '../src/index';

/** Touches every handle and every scrape-time gauge. */
export function populate(m: PipelineMetrics, clock: ManualClock): void {
  m.cycleDuration.observe(0.4);
  m.cycleOverruns.inc();
  m.fetchDuration.observe({ source: 'yahoo' }, 0.2);
  m.fetchErrors.inc({ source: 'polygon', kind: 'rate_limited' });
  m.barsIngested.inc({ source: 'yahoo' }, 10);
  m.barsRepaired.inc({ rule: 'swap_high_low' });
  m.barsRejected.inc({ rule: 'non_finite' });
  m.cacheOperationDuration.observe({ op: 'append' }, 0.0002);
  m.storeOperationDuration.observe({ op: 'flush' }, 0.03);
  m.signalLatency.observe(0.05);
  m.httpRequests.inc({ method: 'GET', route: '/health', status: 200 });
  m.httpRequestDuration.observe({ method: 'GET', route: '/health' }, 0.001);
  m.cycleDuration.observe(-1); // dropped: fills dropped_observations_total
  m.onScrape(() => ({
    lastBarTs: { EURUSD: clock.now() - 3_000 },
    pendingWrites: 12,
    breakers: { yahoo: 'half_open' },
    rateBudgets: { twelvedata: { perMinuteLeft: 7, perDayLeft: 790 } },
    storeFlushFailures: 2,
    bootstrap: { chunksPlanned: 8, chunksDone: 6, chunksFailed: 1, done: false },
  }));
  m.onScrape(() => {
    throw new Error('fills scrape_errors_total');
  });
}
