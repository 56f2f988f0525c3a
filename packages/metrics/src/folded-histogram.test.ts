// The label-free histograms count into typed arrays and fold into prom-client on collect: their
// exposition must be the one a plain prom-client Histogram fed the same values gives.
import { Histogram, Registry } from 'prom-client';
import { createPipelineMetrics, DEFAULT_METRIC_BUCKETS } from './index';

/** The lines of `text` about metric `name` (its HELP, TYPE and samples). */
function linesOf(text: string, name: string): string[] {
  return text
    .split('\n')
    .filter((l) => l.includes(`${name} `) || l.includes(`${name}_`) || l.includes(`${name}{`));
}

/** A plain prom-client histogram of the signal-latency buckets in a registry of its own: the reference. */
function referenceHistogram(
  name: string,
  labels: Record<string, string>,
): { ref: Histogram; refRegistry: Registry } {
  const refRegistry = new Registry();
  const ref = new Histogram({
    name,
    help: 'Time from the data a signal used to the signal being available.',
    labelNames: Object.keys(labels),
    buckets: [...DEFAULT_METRIC_BUCKETS.signal],
    registers: [refRegistry],
  });
  return { ref, refRegistry };
}

/** Seeded values over every bucket, +Inf, exact bounds and zero. */
function values(n: number, seed: number): number[] {
  let s = seed;
  const out: number[] = [0, 0.005, 0.01, 10, 10.000001, 1e6];
  for (let i = 0; i < n; i++) {
    s = (s * 16807) % 2147483647;
    out.push(Math.exp((s / 2147483647) * 12 - 7)); // about 0.0009 .. 148 s
  }
  return out;
}

describe.each<Record<string, string>>([{}, { instance: 'eu-1', region: 'x' }])(
  'signal_latency_seconds with labels %j',
  (labels) => {
    it('exposes what prom-client gives for the same values (text and JSON), across scrapes and a reset', async () => {
      const m = createPipelineMetrics({ labels, defaultMetrics: false });
      const name = m.names.signalLatency;
      const { ref, refRegistry } = referenceHistogram(name, labels);
      const same = async (): Promise<void> => {
        expect(linesOf(await m.text(), name)).toEqual(linesOf(await refRegistry.metrics(), name));
        const json = (await m.json()).find((x) => x.name === name);
        expect(json).toEqual((await refRegistry.getMetricsAsJSON()).find((x) => x.name === name));
      };
      await same(); // nothing observed yet
      for (const [round, seed] of [1, 2, 3].entries()) {
        for (const v of values(500 * (round + 1), seed)) {
          m.signalLatency.observe(v);
          ref.observe(labels, v);
        }
        await same();
        await same(); // a scrape with nothing new
      }
      expect(linesOf(await m.text(), name).length).toBeGreaterThan(10);
      m.registry.resetMetrics();
      refRegistry.resetMetrics();
      await same();
      m.signalLatency.observe(0.3);
      ref.observe(labels, 0.3);
      await same();
      // dropped values are not observed, as before
      m.signalLatency.observe(-1);
      m.signalLatency.observe(NaN);
      await same();
      m.close();
    });
  },
);

it('startTimer of a label-free histogram records into the same series', async () => {
  const m = createPipelineMetrics({ defaultMetrics: false });
  const stop = m.cycleDuration.startTimer();
  const seconds = stop();
  const text = await m.text();
  expect(text).toContain(`${m.names.cycleDuration}_count 1`);
  expect(text).toContain(`${m.names.cycleDuration}_sum ${seconds}`);
  m.close();
});

it('falls back to prom-client observe when its per-series value is not the shape the fold writes', async () => {
  const labels = { instance: 'eu-1' };
  // As a prom-client release that keeps its series otherwise: the shape check finds no series.
  const zero = jest.spyOn(Histogram.prototype, 'zero').mockImplementation(() => undefined);
  const m = createPipelineMetrics({ labels, defaultMetrics: false });
  zero.mockRestore();
  // The fold replaces the histogram's reset (to clear its own counts too); the fallback leaves it.
  const metric = m.registry.getSingleMetric(m.names.signalLatency);
  expect(metric?.reset).toBe(Histogram.prototype.reset);
  const fast = createPipelineMetrics({ defaultMetrics: false });
  expect(fast.registry.getSingleMetric(fast.names.signalLatency)?.reset).not.toBe(Histogram.prototype.reset);
  fast.close();
  const name = m.names.signalLatency;
  const { ref, refRegistry } = referenceHistogram(name, labels);
  for (const v of values(200, 7)) {
    m.signalLatency.observe(v);
    ref.observe(labels, v);
  }
  expect(linesOf(await m.text(), name)).toEqual(linesOf(await refRegistry.metrics(), name));
  m.close();
});
