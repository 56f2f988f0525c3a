// createPipelineMetrics composes the stages, each in its own file:
//   names.ts            metric names and closed label sets
//   labels.ts           label value rules (closed sets, sanitising, constant labels)
//   instruments.ts      counters and histograms behind the typed handles
//   scrape.ts           scrape-time gauges fed by onScrape providers
//   process-metrics.ts  prom-client's process metrics, prefixed, `_total` gauges renamed
import { Registry } from 'prom-client';
import { MetricsError } from './errors';
import { createInstruments } from './instruments';
import { createLabeller } from './labels';
import { METRIC_NAMES, type MetricKey } from './names';
import { resolvePipelineMetricsOptions, type PipelineMetricsOptions } from './options';
import { registerProcessMetrics } from './process-metrics';
import { createScrapeGauges } from './scrape';
import { type PipelineMetrics } from './types';

export {
  METRIC_NAMES,
  BREAKER_STATE_LABELS,
  RATE_WINDOWS,
  type MetricKey,
  type BreakerStateLabel,
} from './names';
export type {
  PipelineMetrics,
  ScrapeSnapshot,
  BootstrapSnapshot,
  ScrapeProvider,
  LabelValues,
  CounterHandle,
  PlainCounterHandle,
  HistogramHandle,
  PlainHistogramHandle,
} from './types';
export type { Disposable } from '@pipeline/core';

/** Full metric names (prefix included); throws METRICS_NAME_CLASH when one exists in `registry`. */
function claimNames(registry: Registry, prefix: string): Record<MetricKey, string> {
  const names = Object.fromEntries(
    Object.entries(METRIC_NAMES).map(([key, name]) => [key, `${prefix}${name}`]),
  ) as Record<MetricKey, string>;
  const clashes = Object.values(names).filter((n) => registry.getSingleMetric(n) !== undefined);
  if (clashes.length > 0) {
    throw new MetricsError(
      'METRICS_NAME_CLASH',
      `createPipelineMetrics: ${clashes.join(', ')} already registered in this registry; use another prefix or registry`,
      { metrics: clashes },
    );
  }
  return names;
}

/**
 * Creates the pipeline's standard metrics in a prom-client registry (a private one by default,
 * never the global registry) and returns typed handles plus scrape-time providers.
 */
export function createPipelineMetrics(options?: Partial<PipelineMetricsOptions>): PipelineMetrics {
  const opts = resolvePipelineMetricsOptions(options);
  const registry = opts.registry ?? new Registry();
  const names = claimNames(registry, opts.prefix);
  const labels = createLabeller(opts.labels, opts.extraSources);
  /** Every metric name this instance registered, for close(). */
  const owned: string[] = [];
  const make = createInstruments(registry, names, labels, owned);
  const scrape = createScrapeGauges(registry, names, labels, opts.clock, owned);

  const handles = {
    cycleDuration: make.plainHistogram('cycleDuration', 'Duration of one collection cycle.', [
      ...opts.buckets.cycle,
    ]),
    cycleOverruns: make.plainCounter(
      'cycleOverruns',
      'Collection cycles that took longer than their interval.',
    ),
    fetchDuration: make.histogram(
      'fetchDuration',
      'Duration of one fetch from a source, retries included.',
      ['source'],
      [...opts.buckets.fetch],
    ),
    fetchErrors: make.counter('fetchErrors', 'Failed fetches by source and error kind.', ['source', 'kind']),
    barsIngested: make.counter('barsIngested', 'Bars accepted into the pipeline by source.', ['source']),
    barsRepaired: make.counter('barsRepaired', 'Bars repaired by the validator, by rule.', ['rule']),
    barsRejected: make.counter('barsRejected', 'Bars rejected by the validator, by rule.', ['rule']),
    cacheOperationDuration: make.histogram(
      'cacheOperationDuration',
      'Duration of hot cache operations by op.',
      ['op'],
      [...opts.buckets.storage],
    ),
    storeOperationDuration: make.histogram(
      'storeOperationDuration',
      'Duration of history store operations by op.',
      ['op'],
      [...opts.buckets.storage],
    ),
    signalLatency: make.plainHistogram(
      'signalLatency',
      'Time from the data a signal used to the signal being available.',
      [...opts.buckets.signal],
    ),
    httpRequests: make.counter(
      'httpRequests',
      'HTTP requests answered, by method, route pattern and status.',
      ['method', 'route', 'status'],
    ),
    httpRequestDuration: make.histogram(
      'httpRequestDuration',
      'Duration of HTTP requests by method and route pattern.',
      ['method', 'route'],
      [...opts.buckets.http],
    ),
  };

  if (opts.defaultMetrics) registerProcessMetrics(registry, opts.prefix, labels.constantLabels, owned);

  return {
    registry,
    options: opts,
    contentType: registry.contentType,
    names: Object.freeze(names),
    ...handles,
    onScrape: scrape.onScrape,
    onScrapeError: scrape.onScrapeError,
    text: () => registry.metrics(),
    json: () => registry.getMetricsAsJSON(),
    close() {
      for (const name of owned.splice(0)) registry.removeSingleMetric(name);
      scrape.clear();
    },
  };
}
