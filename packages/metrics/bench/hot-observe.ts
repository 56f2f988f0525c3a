// Per-call cost of `signalLatency.observe(seconds)` on the sidecar's hot path (issue 16): one call per
// signal, 20,000 signals per cycle (one per symbol), latencies spread over the buckets; a scrape
// (text()) every 15 cycles, outside the measured window, folds the counts in as /metrics would.
// How it measures: measureCycles in @pipeline/test-utils.
// Run: pnpm --filter @pipeline/metrics bench:hot
import { measureCycles } from '@pipeline/test-utils';
import { createPipelineMetrics } from '../src/index';

const SIGNALS = Number(process.env.BENCH_SYMBOLS ?? 20_000);
const metrics = createPipelineMetrics({ defaultMetrics: false });
const latencies = Float64Array.from({ length: SIGNALS }, (_, i) => 0.002 * 1.0007 ** i);
let cycle = 0;
const cost = await measureCycles(
  SIGNALS,
  () => {
    for (let i = 0; i < SIGNALS; i++) metrics.signalLatency.observe(latencies[i] ?? 0);
  },
  {
    cycles: 30,
    prepare: () => {
      if (++cycle % 15 === 0) void metrics.text();
    },
  },
);
const text = await metrics.text();
const count = /_signal_latency_seconds_count (\d+)/.exec(text)?.[1];
console.log(
  JSON.stringify({
    bench: `metrics: signalLatency.observe, ${SIGNALS.toLocaleString('en')} signals per cycle, per call`,
    ...cost,
    observed: Number(count),
  }),
);
metrics.close();
