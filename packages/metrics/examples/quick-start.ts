// Quick start of @pipeline/metrics (the README shows this file). Run: npx tsx examples/quick-start.ts

import { createPipelineMetrics } from '@pipeline/metrics';

const metrics = createPipelineMetrics({
  prefix: 'pipeline_',
  defaultMetrics: false,
  labels: { instance: 'demo' },
});

// Hot path: typed handles, label values sanitised, bad values dropped and counted (never thrown).
const endCycle = metrics.cycleDuration.startTimer();
metrics.fetchDuration.observe({ source: 'yahoo' }, 0.182);
metrics.fetchErrors.inc({ source: 'polygon', kind: 'rate_limited' });
metrics.barsIngested.inc({ source: 'yahoo' }, 3);
metrics.barsRejected.inc({ rule: 'high_below_low' });
metrics.httpRequests.inc({ method: 'GET', route: '/signals/:symbol', status: 200 });
endCycle();

// Scrape time: gauges computed from the pipeline's state when /metrics is read.
const lastBarTs = { EURUSD: Date.now() - 4_000 };
const provider = metrics.onScrape(() => ({
  lastBarTs,
  pendingWrites: 42,
  breakers: { yahoo: 'closed', polygon: 'open' },
  rateBudgets: { alphavantage: { perMinuteLeft: 3, perDayLeft: 20 } },
}));

const text = await metrics.text(); // serve with Content-Type: metrics.contentType
console.log(
  text
    .split('\n')
    .filter((line) =>
      /data_age|pending_writes|breaker_state.*"polygon",state="open"|fetch_errors_total\{/.test(line),
    )
    .join('\n'),
);
console.log(`families in JSON: ${(await metrics.json()).length}`);

provider.dispose();
metrics.close();
