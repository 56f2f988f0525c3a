import {
  Counter,
  Gauge,
  Histogram,
  Registry,
  collectDefaultMetrics,
  type MetricObjectWithValues,
  type MetricValue,
} from 'prom-client';
import { FETCH_ERROR_KINDS, SOURCE_NAMES, type RateBudgetSnapshot, type Disposable } from '@pipeline/core';
import { MetricsError } from './errors';
import {
  resolvePipelineMetricsOptions,
  type PipelineMetricsOptions,
  type ResolvedPipelineMetricsOptions,
} from './options';
import { closedLabelValue, sanitizeLabelValue, toText } from './sanitize';

/** Metric names without the prefix. Units are in the names (`_seconds`); counters end in `_total`. */
export const METRIC_NAMES = {
  cycleDuration: 'cycle_duration_seconds',
  cycleOverruns: 'cycle_overruns_total',
  fetchDuration: 'fetch_duration_seconds',
  fetchErrors: 'fetch_errors_total',
  breakerState: 'breaker_state',
  rateBudgetRemaining: 'rate_budget_remaining',
  barsIngested: 'bars_ingested_total',
  barsRepaired: 'bars_repaired_total',
  barsRejected: 'bars_rejected_total',
  dataAge: 'data_age_seconds',
  cacheOperationDuration: 'cache_operation_duration_seconds',
  storeOperationDuration: 'store_operation_duration_seconds',
  pendingWrites: 'pending_writes',
  signalLatency: 'signal_latency_seconds',
  httpRequests: 'http_requests_total',
  httpRequestDuration: 'http_request_duration_seconds',
  scrapeErrors: 'scrape_errors_total',
  droppedObservations: 'dropped_observations_total',
} as const;
export type MetricKey = keyof typeof METRIC_NAMES;

/** The states `breaker_state` reports, one series each (1 for the current state, else 0). */
export const BREAKER_STATE_LABELS = ['closed', 'open', 'half_open'] as const;
export type BreakerStateLabel = (typeof BREAKER_STATE_LABELS)[number];

/** Rate budget windows reported by `rate_budget_remaining`. */
export const RATE_WINDOWS = { minute: 'minute', day: 'day' } as const;

/** What scrape-time providers report; every field is optional and providers are merged. */
export interface ScrapeSnapshot {
  /** Open time (epoch ms) of the newest bar per generic symbol; null = no data yet (series omitted). */
  lastBarTs?: Record<string, number | null>;
  /** Bars buffered for the store and not yet written; summed over providers. */
  pendingWrites?: number;
  /** Circuit state per source. */
  breakers?: Partial<Record<string, BreakerStateLabel>>;
  /** Requests left per source (core's `Fetcher.budget()`); null windows are omitted. */
  rateBudgets?: Partial<Record<string, Pick<RateBudgetSnapshot, 'perMinuteLeft' | 'perDayLeft'>>>;
}

export type ScrapeProvider = () => ScrapeSnapshot | Promise<ScrapeSnapshot>;

export type { Disposable } from '@pipeline/core';

/** Label values may be strings or numbers; every value is sanitised before use. */
export type LabelValues<L extends string> = { readonly [K in L]: string | number };

export interface CounterHandle<L extends string> {
  /** Adds `by` (default 1). Negative or non-finite amounts are dropped and counted, never thrown. */
  inc(labels: LabelValues<L>, by?: number): void;
}
export interface PlainCounterHandle {
  inc(by?: number): void;
}
export interface HistogramHandle<L extends string> {
  /** Records one duration in seconds. Negative or non-finite values are dropped and counted. */
  observe(labels: LabelValues<L>, seconds: number): void;
  /** Starts a monotonic timer; calling the result records and returns the seconds elapsed. */
  startTimer(labels: LabelValues<L>): () => number;
}
export interface PlainHistogramHandle {
  observe(seconds: number): void;
  startTimer(): () => number;
}

export interface PipelineMetrics {
  readonly registry: Registry;
  readonly options: ResolvedPipelineMetricsOptions;
  /** Content-Type of `text()` for the HTTP answer. */
  readonly contentType: string;
  /** Full names (prefix included) by key. */
  readonly names: Readonly<Record<MetricKey, string>>;

  /** One collection cycle, start to end. */
  readonly cycleDuration: PlainHistogramHandle;
  /** Cycles that took longer than their interval. */
  readonly cycleOverruns: PlainCounterHandle;
  /** One fetch (all attempts) by source. */
  readonly fetchDuration: HistogramHandle<'source'>;
  /** Failed fetches by source and core FetchErrorKind (unknown kinds become `other`). */
  readonly fetchErrors: CounterHandle<'source' | 'kind'>;
  /** Bars accepted into the pipeline by source. */
  readonly barsIngested: CounterHandle<'source'>;
  /** Bars repaired by the validator, by rule. */
  readonly barsRepaired: CounterHandle<'rule'>;
  /** Bars rejected by the validator, by rule. */
  readonly barsRejected: CounterHandle<'rule'>;
  /** Hot cache operations by op (e.g. `append`, `read_last`). */
  readonly cacheOperationDuration: HistogramHandle<'op'>;
  /** SQLite store operations by op (e.g. `flush`, `read_range`). */
  readonly storeOperationDuration: HistogramHandle<'op'>;
  /** From the data a signal used to the signal being available. */
  readonly signalLatency: PlainHistogramHandle;
  /** HTTP requests by method, route pattern (never the raw URL) and status. */
  readonly httpRequests: CounterHandle<'method' | 'route' | 'status'>;
  readonly httpRequestDuration: HistogramHandle<'method' | 'route'>;

  /** Adds a provider asked once per scrape for the scrape-time gauges. */
  onScrape(provider: ScrapeProvider): Disposable;
  /** Called with a `METRICS_PROVIDER_FAILED` error when a provider throws; the scrape goes on. */
  onScrapeError(listener: (error: MetricsError) => void): Disposable;
  /** Prometheus text exposition of the whole registry. */
  text(): Promise<string>;
  /** The same as prom-client JSON (`registry.getMetricsAsJSON()`). */
  json(): Promise<Array<MetricObjectWithValues<MetricValue<string>>>>;
  /** Unregisters every metric this instance added (process metrics included). */
  close(): void;
}

const SOURCES: ReadonlySet<string> = new Set(SOURCE_NAMES);
const KINDS: ReadonlySet<string> = new Set(Object.keys(FETCH_ERROR_KINDS));
const METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
const BREAKER_STATES: ReadonlySet<string> = new Set(BREAKER_STATE_LABELS);

/** How each label name is normalised: closed sets map to `other`, free text is sanitised. */
const LABEL_RULES: Record<string, (value: unknown) => string> = {
  source: (v) => closedLabelValue(v, SOURCES),
  kind: (v) => closedLabelValue(v, KINDS),
  method: (v) => closedLabelValue(typeof v === 'string' ? v.toUpperCase() : v, METHODS),
  status: (v) => {
    const n = typeof v === 'number' ? v : Number(v);
    return Number.isInteger(n) && n >= 100 && n <= 599 ? String(n) : 'other';
  },
};

/** Sanitising is not free; the label values seen in practice are few, so results are memoised. */
const MEMO_LIMIT = 10_000;

/**
 * Creates the pipeline's standard metrics in a prom-client registry (a private one by default,
 * never the global registry) and returns typed handles plus scrape-time providers.
 */
export function createPipelineMetrics(options?: Partial<PipelineMetricsOptions>): PipelineMetrics {
  const opts = resolvePipelineMetricsOptions(options);
  const registry = opts.registry ?? new Registry();
  const { prefix, clock } = opts;
  const constantNames = Object.keys(opts.labels);
  const constantLabels: Record<string, string> = {};
  for (const [name, value] of Object.entries(opts.labels)) constantLabels[name] = sanitizeLabelValue(value);

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

  const owned: string[] = [];
  const registers = [registry];
  const memo = new Map<string, string>();
  const sanitizeMemo = (value: unknown): string => {
    if (value === undefined || value === null) return 'none';
    const key = toText(value);
    let clean = memo.get(key);
    if (clean === undefined) {
      clean = sanitizeLabelValue(key);
      if (memo.size >= MEMO_LIMIT) memo.clear();
      memo.set(key, clean);
    }
    return clean;
  };
  /**
   * Builds the label object for one metric's label names, resolving each name's rule once. Keys
   * that are not label names of the metric are ignored (prom-client would throw on them) and
   * missing ones normalise like any bad value, so the hot path never throws.
   */
  const labeller = (
    labelNames: readonly string[],
  ): ((raw: Record<string, unknown>) => Record<string, string>) => {
    const rules = labelNames.map((name) => [name, LABEL_RULES[name] ?? sanitizeMemo] as const);
    const hasConstants = constantNames.length > 0;
    return (raw) => {
      const out: Record<string, string> = hasConstants ? { ...constantLabels } : {};
      for (const [name, rule] of rules) out[name] = rule(raw[name]);
      return out;
    };
  };
  const labelsOf = (raw: Record<string, unknown>): Record<string, string> => labeller(Object.keys(raw))(raw);

  const dropped = new Counter({
    name: names.droppedObservations,
    help: 'Observations dropped because the value was negative or not finite, by metric.',
    labelNames: ['metric', ...constantNames],
    registers,
  });
  owned.push(names.droppedObservations);
  const valid = (metric: string, value: number, allowZero = true): boolean => {
    if (Number.isFinite(value) && (value > 0 || (allowZero && value === 0))) return true;
    dropped.inc({ metric, ...constantLabels });
    return false;
  };

  function histogram<L extends string>(
    key: MetricKey,
    help: string,
    labelNames: L[],
    buckets: number[],
  ): HistogramHandle<L> {
    const name = names[key];
    const h = new Histogram({
      name,
      help,
      labelNames: [...labelNames, ...constantNames],
      buckets,
      registers,
    });
    owned.push(name);
    const labelsFor = labeller(labelNames);
    return {
      observe(labels, seconds) {
        if (valid(name, seconds)) h.observe(labelsFor(labels), seconds);
      },
      startTimer(labels) {
        const start = process.hrtime.bigint();
        const resolved = labelsFor(labels);
        return () => {
          const seconds = Number(process.hrtime.bigint() - start) / 1e9;
          h.observe(resolved, seconds);
          return seconds;
        };
      },
    };
  }
  function plainHistogram(key: MetricKey, help: string, buckets: number[]): PlainHistogramHandle {
    const h = histogram<never>(key, help, [], buckets);
    return {
      observe: (seconds) => h.observe({}, seconds),
      startTimer: () => h.startTimer({}),
    };
  }
  function counter<L extends string>(key: MetricKey, help: string, labelNames: L[]): CounterHandle<L> {
    const name = names[key];
    const c = new Counter({ name, help, labelNames: [...labelNames, ...constantNames], registers });
    owned.push(name);
    const labelsFor = labeller(labelNames);
    return {
      inc(labels, by = 1) {
        if (valid(name, by)) c.inc(labelsFor(labels), by);
      },
    };
  }

  // Scrape-time gauges share one provider round per scrape: prom-client collects all metrics of
  // a scrape concurrently, so the in-flight promise is reused and dropped once it settles.
  const providers = new Set<ScrapeProvider>();
  const errorListeners = new Set<(error: MetricsError) => void>();
  let inFlight: Promise<ScrapeSnapshot> | undefined;
  const scrapeErrors = new Counter({
    name: names.scrapeErrors,
    help: 'Scrape-time providers that threw or rejected.',
    labelNames: constantNames,
    registers,
  });
  owned.push(names.scrapeErrors);

  async function runProviders(): Promise<ScrapeSnapshot> {
    const merged: Required<ScrapeSnapshot> = {
      lastBarTs: {},
      pendingWrites: 0,
      breakers: {},
      rateBudgets: {},
    };
    let sawPending = false;
    for (const provider of [...providers]) {
      let part: ScrapeSnapshot;
      try {
        part = await provider();
      } catch (cause) {
        scrapeErrors.inc(constantLabels);
        const error = new MetricsError(
          'METRICS_PROVIDER_FAILED',
          `scrape provider failed: ${String(cause)}`,
          {
            metrics: [names.dataAge, names.pendingWrites, names.breakerState, names.rateBudgetRemaining],
            cause,
          },
        );
        for (const listener of errorListeners) {
          try {
            listener(error);
          } catch {
            // a failing error listener must not fail the scrape
          }
        }
        continue;
      }
      Object.assign(merged.lastBarTs, part.lastBarTs);
      Object.assign(merged.breakers, part.breakers);
      Object.assign(merged.rateBudgets, part.rateBudgets);
      if (typeof part.pendingWrites === 'number' && Number.isFinite(part.pendingWrites)) {
        merged.pendingWrites += part.pendingWrites;
        sawPending = true;
      }
    }
    return sawPending ? merged : { ...merged, pendingWrites: undefined };
  }
  function gather(): Promise<ScrapeSnapshot> {
    if (!inFlight) {
      inFlight = runProviders().finally(() => {
        inFlight = undefined;
      });
    }
    return inFlight;
  }

  function scrapeGauge(
    key: MetricKey,
    help: string,
    labelNames: string[],
    fill: (gauge: Gauge, snap: ScrapeSnapshot) => void,
  ): void {
    new Gauge({
      name: names[key],
      help,
      labelNames: [...labelNames, ...constantNames],
      registers,
      async collect() {
        const snap = await gather();
        // Series of symbols/sources that disappeared must not linger with a stale value.
        this.reset();
        fill(this, snap);
      },
    });
    owned.push(names[key]);
  }

  scrapeGauge(
    'dataAge',
    'Seconds since the open time of the newest bar per symbol, computed at scrape time.',
    ['symbol'],
    (g, s) => {
      const now = clock.now();
      for (const [symbol, ts] of Object.entries(s.lastBarTs ?? {})) {
        if (typeof ts === 'number' && Number.isFinite(ts))
          g.set(labelsOf({ symbol }), Math.max(0, (now - ts) / 1000));
      }
    },
  );
  scrapeGauge(
    'pendingWrites',
    'Bars buffered for the store and not yet written, at scrape time.',
    [],
    (g, s) => {
      if (s.pendingWrites !== undefined) g.set(constantLabels, s.pendingWrites);
      // prom-client keeps a 0 series for a label-less gauge even after reset(): drop it, unknown is not 0.
      else g.remove(constantLabels);
    },
  );
  scrapeGauge(
    'breakerState',
    'Circuit breaker state per source: 1 for the current state, 0 for the others.',
    ['source', 'state'],
    (g, s) => {
      for (const [source, state] of Object.entries(s.breakers ?? {})) {
        if (!BREAKER_STATES.has(state as string)) continue;
        for (const candidate of BREAKER_STATE_LABELS) {
          g.set(labelsOf({ source, state: candidate }), candidate === state ? 1 : 0);
        }
      }
    },
  );
  scrapeGauge(
    'rateBudgetRemaining',
    "Requests left in the source's rate budget per window, at scrape time.",
    ['source', 'window'],
    (g, s) => {
      for (const [source, budget] of Object.entries(s.rateBudgets ?? {})) {
        if (!budget) continue;
        if (typeof budget.perMinuteLeft === 'number')
          g.set(labelsOf({ source, window: RATE_WINDOWS.minute }), budget.perMinuteLeft);
        if (typeof budget.perDayLeft === 'number')
          g.set(labelsOf({ source, window: RATE_WINDOWS.day }), budget.perDayLeft);
      }
    },
  );

  const handles = {
    cycleDuration: plainHistogram('cycleDuration', 'Duration of one collection cycle.', [
      ...opts.buckets.cycle,
    ]),
    cycleOverruns: (() => {
      const c = counter<never>(
        'cycleOverruns',
        'Collection cycles that took longer than their interval.',
        [],
      );
      return { inc: (by?: number) => c.inc({}, by) };
    })(),
    fetchDuration: histogram(
      'fetchDuration',
      'Duration of one fetch from a source, retries included.',
      ['source'],
      [...opts.buckets.fetch],
    ),
    fetchErrors: counter('fetchErrors', 'Failed fetches by source and error kind.', ['source', 'kind']),
    barsIngested: counter('barsIngested', 'Bars accepted into the pipeline by source.', ['source']),
    barsRepaired: counter('barsRepaired', 'Bars repaired by the validator, by rule.', ['rule']),
    barsRejected: counter('barsRejected', 'Bars rejected by the validator, by rule.', ['rule']),
    cacheOperationDuration: histogram(
      'cacheOperationDuration',
      'Duration of hot cache operations by op.',
      ['op'],
      [...opts.buckets.storage],
    ),
    storeOperationDuration: histogram(
      'storeOperationDuration',
      'Duration of history store operations by op.',
      ['op'],
      [...opts.buckets.storage],
    ),
    signalLatency: plainHistogram(
      'signalLatency',
      'Time from the data a signal used to the signal being available.',
      [...opts.buckets.signal],
    ),
    httpRequests: counter('httpRequests', 'HTTP requests answered, by method, route pattern and status.', [
      'method',
      'route',
      'status',
    ]),
    httpRequestDuration: histogram(
      'httpRequestDuration',
      'Duration of HTTP requests by method and route pattern.',
      ['method', 'route'],
      [...opts.buckets.http],
    ),
  };

  if (opts.defaultMetrics) {
    const before = new Set(registry.getMetricsAsArray().map((m) => m.name));
    try {
      collectDefaultMetrics({ register: registry, prefix, labels: constantLabels });
    } catch (cause) {
      const added = registry
        .getMetricsAsArray()
        .map((m) => m.name)
        .filter((n) => !before.has(n));
      for (const name of [...owned, ...added]) registry.removeSingleMetric(name);
      throw new MetricsError(
        'METRICS_NAME_CLASH',
        `createPipelineMetrics: process metrics with prefix ${JSON.stringify(prefix)} are already registered in this registry`,
        { metrics: added, cause },
      );
    }
    for (const m of registry.getMetricsAsArray()) if (!before.has(m.name)) owned.push(m.name);
    renameTotalGauges(registry, owned);
  }

  return {
    registry,
    options: opts,
    contentType: registry.contentType,
    names: Object.freeze(names),
    ...handles,
    onScrape(provider) {
      const wrapped: ScrapeProvider = () => provider();
      providers.add(wrapped);
      return { dispose: () => void providers.delete(wrapped) };
    },
    onScrapeError(listener) {
      const wrapped = (error: MetricsError) => listener(error);
      errorListeners.add(wrapped);
      return { dispose: () => void errorListeners.delete(wrapped) };
    },
    text: () => registry.metrics(),
    json: () => registry.getMetricsAsJSON(),
    close() {
      for (const name of owned.splice(0)) registry.removeSingleMetric(name);
      providers.clear();
      errorListeners.clear();
    },
  };
}

/**
 * prom-client's process metrics include gauges named `nodejs_active_{handles,requests,resources}_total`
 * (sums of the by-type gauges of the same name without `_total`); `promtool check metrics`
 * rejects `_total` on anything but a counter. Each is dropped when its by-type twin exists (the
 * sum is `sum(<name>)` in PromQL) and otherwise re-exposed without `_total`.
 */
function renameTotalGauges(registry: Registry, owned: string[]): void {
  type Readable = {
    type?: string;
    labelNames?: string[];
    help?: string;
    get(): Promise<MetricObjectWithValues<MetricValue<string>>>;
  };
  for (const name of [...owned]) {
    const original = registry.getSingleMetric(name) as unknown as Readable | undefined;
    if (!original || !name.endsWith('_total') || original.type === 'counter') continue;
    registry.removeSingleMetric(name);
    owned.splice(owned.indexOf(name), 1);
    const renamed = name.slice(0, -'_total'.length);
    if (registry.getSingleMetric(renamed) !== undefined) continue;
    new Gauge({
      name: renamed,
      help: original.help ?? renamed,
      labelNames: original.labelNames ?? [],
      registers: [registry],
      async collect() {
        const current = await original.get();
        this.reset();
        for (const v of current.values) this.set(v.labels, v.value);
      },
    });
    owned.push(renamed);
  }
}
