import { OptionsError, resolveOptions, systemClock, type Clock } from '@pipeline/core';
import { type Registry } from 'prom-client';

/** Histogram bucket boundaries, in seconds, per group of histograms. */
export interface MetricBuckets {
  /** `cycle_duration_seconds`. @default [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] */
  cycle: number[];
  /** `fetch_duration_seconds`. @default [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] */
  fetch: number[];
  /** `cache_operation_duration_seconds` and `store_operation_duration_seconds`. @default [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1] */
  storage: number[];
  /** `signal_latency_seconds`. @default [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] */
  signal: number[];
  /** `http_request_duration_seconds`. @default [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1] */
  http: number[];
}

export interface PipelineMetricsOptions {
  /**
   * The prom-client registry to register into. Never the global default registry unless you
   * pass it yourself.
   * @default a new private `Registry`
   */
  registry: Registry | undefined;
  /**
   * Prefix of every metric name, including the process metrics. Must match
   * `[a-zA-Z_:][a-zA-Z0-9_:]*` and end with `_` (or be empty).
   * @default 'pipeline_'
   */
  prefix: string;
  /**
   * Also collect prom-client's default Node.js process metrics (CPU, memory, event loop lag,
   * GC, handles) into the same registry, with the same prefix and labels.
   * @default false
   */
  defaultMetrics: boolean;
  /**
   * Constant labels added to every metric of this instance (e.g. `{ instance: 'eu-1' }`). Names
   * must be valid Prometheus label names; values are sanitised like every label value.
   * @default {}
   */
  labels: Record<string, string>;
  /**
   * Time source for scrape-time ages (`data_age_seconds`).
   * @default systemClock
   */
  clock: Clock;
  /** Histogram buckets in seconds; unknown groups are rejected. @default DEFAULT_METRIC_BUCKETS */
  buckets: Partial<MetricBuckets>;
  /**
   * Names accepted in the `source` label besides core's market-data sources, e.g. a broker's order
   * API guarded by `@pipeline/breaker` (`['ib-orders']`); any other name shows as `other`. At most
   * 50 names of 1-64 characters `[A-Za-z0-9_.-]`, so the label stays low-cardinality.
   * @default []
   */
  extraSources: readonly string[];
}

export const DEFAULT_METRIC_BUCKETS: Readonly<MetricBuckets> = Object.freeze({
  cycle: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  fetch: [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  storage: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
  signal: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  http: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
});

/** Every default of {@link PipelineMetricsOptions}, in one place. */
export const DEFAULT_PIPELINE_METRICS_OPTIONS: Readonly<PipelineMetricsOptions> = Object.freeze({
  registry: undefined,
  prefix: 'pipeline_',
  defaultMetrics: false,
  labels: Object.freeze({}) as Record<string, string>,
  clock: systemClock,
  buckets: DEFAULT_METRIC_BUCKETS,
  extraSources: Object.freeze([]),
});

export interface ResolvedPipelineMetricsOptions {
  readonly registry: Registry | undefined;
  readonly prefix: string;
  readonly defaultMetrics: boolean;
  readonly labels: Readonly<Record<string, string>>;
  readonly clock: Clock;
  readonly buckets: Readonly<MetricBuckets>;
  readonly extraSources: readonly string[];
}

const C = 'createPipelineMetrics';
export const METRIC_NAME_PATTERN = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
export const LABEL_NAME_PATTERN = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
/** Label names this package uses itself; constant labels may not shadow them. */
export const RESERVED_LABEL_NAMES: ReadonlySet<string> = new Set([
  'source',
  'kind',
  'state',
  'window',
  'symbol',
  'rule',
  'op',
  'method',
  'route',
  'status',
  'le',
  'provider',
]);

export function resolvePipelineMetricsOptions(
  options: Partial<PipelineMetricsOptions> | undefined,
): ResolvedPipelineMetricsOptions {
  const o = resolveOptions<PipelineMetricsOptions>(C, DEFAULT_PIPELINE_METRICS_OPTIONS, options);
  const buckets = resolveOptions<MetricBuckets>(`${C}: buckets`, DEFAULT_METRIC_BUCKETS, o.buckets);

  if (
    o.registry !== undefined &&
    (typeof o.registry !== 'object' || typeof o.registry.registerMetric !== 'function')
  ) {
    throw new OptionsError(
      `${C}: option "registry" must be a prom-client Registry, got ${typeof o.registry}`,
    );
  }
  if (
    typeof o.prefix !== 'string' ||
    (o.prefix !== '' && (!METRIC_NAME_PATTERN.test(o.prefix) || !o.prefix.endsWith('_')))
  ) {
    throw new OptionsError(
      `${C}: option "prefix" must match [a-zA-Z_:][a-zA-Z0-9_:]* and end with "_" (or be empty), got ${JSON.stringify(o.prefix)}`,
    );
  }
  if (typeof o.defaultMetrics !== 'boolean') {
    throw new OptionsError(
      `${C}: option "defaultMetrics" must be a boolean, got ${JSON.stringify(o.defaultMetrics)}`,
    );
  }
  if (typeof o.labels !== 'object' || o.labels === null) {
    throw new OptionsError(`${C}: option "labels" must be an object, got ${JSON.stringify(o.labels)}`);
  }
  for (const [name, value] of Object.entries(o.labels)) {
    if (!LABEL_NAME_PATTERN.test(name) || name.startsWith('__') || RESERVED_LABEL_NAMES.has(name)) {
      throw new OptionsError(
        `${C}: label name ${JSON.stringify(name)} is not a valid, unreserved Prometheus label name`,
      );
    }
    if (typeof value !== 'string') {
      throw new OptionsError(`${C}: label "${name}" must be a string, got ${JSON.stringify(value)}`);
    }
  }
  if (typeof o.clock !== 'object' || o.clock === null || typeof o.clock.now !== 'function') {
    throw new OptionsError(
      `${C}: option "clock" must have now(), got ${o.clock === null ? 'null' : typeof o.clock}`,
    );
  }
  for (const [group, list] of Object.entries(buckets)) {
    const ok =
      Array.isArray(list) &&
      list.length > 0 &&
      list.every(
        (b, i) =>
          typeof b === 'number' && Number.isFinite(b) && b > 0 && (i === 0 || b > (list[i - 1] ?? -Infinity)),
      );
    if (!ok) {
      throw new OptionsError(
        `${C}: buckets.${group} must be a non-empty, strictly increasing list of positive seconds, got ${JSON.stringify(list)}`,
      );
    }
  }
  if (
    !Array.isArray(o.extraSources) ||
    o.extraSources.length > 50 ||
    !o.extraSources.every((n) => typeof n === 'string' && /^[A-Za-z0-9_.-]{1,64}$/.test(n))
  ) {
    throw new OptionsError(
      `${C}: option "extraSources" must be at most 50 names of 1-64 characters [A-Za-z0-9_.-], got ${JSON.stringify(o.extraSources)}`,
    );
  }
  return Object.freeze({
    extraSources: Object.freeze([...o.extraSources]),
    registry: o.registry,
    prefix: o.prefix,
    defaultMetrics: o.defaultMetrics,
    labels: Object.freeze({ ...o.labels }),
    clock: o.clock,
    buckets,
  });
}
