import { ManualClock, isPipelineError } from '@pipeline/core';
import { Registry, collectDefaultMetrics, register as globalRegistry } from 'prom-client';
import {
  createPipelineMetrics,
  isMetricsError,
  lintMetricsText,
  type MetricsError,
  type PipelineMetrics,
} from './index';

/** Reads one sample value from Prometheus text; labels must match exactly (all of them). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got: Record<string, string> = {};
    for (const pair of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      got[pair[1]!] = pair[2]!;
    if (JSON.stringify(Object.entries(got).sort()) === JSON.stringify(Object.entries(labels).sort()))
      return Number(m[3]);
  }
  return undefined;
}

const created: PipelineMetrics[] = [];
function make(options: Parameters<typeof createPipelineMetrics>[0] = {}): PipelineMetrics {
  const m = createPipelineMetrics(options);
  created.push(m);
  return m;
}
afterEach(() => {
  for (const m of created.splice(0)) m.close();
});

describe('options', () => {
  it('rejects unknown options and bad values, quoting them', () => {
    expect(() => createPipelineMetrics({ prefx: 'x_' } as never)).toThrow(/unknown option "prefx"/);
    expect(() => createPipelineMetrics({ prefix: 'bad-prefix_' })).toThrow(/"bad-prefix_"/);
    expect(() => createPipelineMetrics({ prefix: 'noUnderscore' })).toThrow(/end with "_".*"noUnderscore"/);
    expect(() => createPipelineMetrics({ labels: { source: 'x' } })).toThrow(
      /"source" is not a valid, unreserved/,
    );
    expect(() => createPipelineMetrics({ labels: { 'bad-name': 'x' } })).toThrow(/"bad-name"/);
    expect(() => createPipelineMetrics({ buckets: { fetch: [1, 0.5] } })).toThrow(/buckets.fetch.*\[1,0.5\]/);
    expect(() => createPipelineMetrics({ buckets: { fetchh: [1] } as never })).toThrow(
      /unknown option "fetchh"/,
    );
    try {
      createPipelineMetrics({ defaultMetrics: 'yes' as never });
    } catch (error) {
      expect(isPipelineError(error, 'INVALID_OPTIONS')).toBe(true);
    }
  });

  it("never touches prom-client's global registry", async () => {
    const before = (await globalRegistry.metrics()).length;
    const m = make({ defaultMetrics: true });
    m.cycleDuration.observe(0.2);
    expect(m.registry).not.toBe(globalRegistry);
    expect(globalRegistry.getSingleMetric('pipeline_cycle_duration_seconds')).toBeUndefined();
    expect((await globalRegistry.metrics()).length).toBe(before);
  });
});

describe('recording', () => {
  it('histograms and counters show up with the right values and buckets', async () => {
    const m = make();
    m.cycleDuration.observe(0.3);
    m.cycleDuration.observe(0.05);
    m.cycleOverruns.inc();
    m.fetchDuration.observe({ source: 'yahoo' }, 0.12);
    m.fetchErrors.inc({ source: 'yahoo', kind: 'transient' });
    m.fetchErrors.inc({ source: 'yahoo', kind: 'transient' });
    m.fetchErrors.inc({ source: 'polygon', kind: 'rate_limited' }, 3);
    m.barsIngested.inc({ source: 'twelvedata' }, 500);
    m.barsRepaired.inc({ rule: 'high_below_open' });
    m.barsRejected.inc({ rule: 'non_positive_price' }, 2);
    m.cacheOperationDuration.observe({ op: 'append' }, 0.0004);
    m.storeOperationDuration.observe({ op: 'flush' }, 0.04);
    m.signalLatency.observe(0.8);
    m.httpRequests.inc({ method: 'get', route: '/signals/:symbol', status: 200 });
    m.httpRequestDuration.observe({ method: 'GET', route: '/signals/:symbol' }, 0.002);
    const text = await m.text();

    expect(sample(text, 'pipeline_cycle_duration_seconds_count')).toBe(2);
    expect(sample(text, 'pipeline_cycle_duration_seconds_sum')).toBeCloseTo(0.35, 10);
    expect(sample(text, 'pipeline_cycle_duration_seconds_bucket', { le: '0.05' })).toBe(1);
    expect(sample(text, 'pipeline_cycle_duration_seconds_bucket', { le: '0.25' })).toBe(1);
    expect(sample(text, 'pipeline_cycle_duration_seconds_bucket', { le: '0.5' })).toBe(2);
    expect(sample(text, 'pipeline_cycle_overruns_total')).toBe(1);
    expect(sample(text, 'pipeline_fetch_duration_seconds_count', { source: 'yahoo' })).toBe(1);
    expect(sample(text, 'pipeline_fetch_errors_total', { source: 'yahoo', kind: 'transient' })).toBe(2);
    expect(sample(text, 'pipeline_fetch_errors_total', { source: 'polygon', kind: 'rate_limited' })).toBe(3);
    expect(sample(text, 'pipeline_bars_ingested_total', { source: 'twelvedata' })).toBe(500);
    expect(sample(text, 'pipeline_bars_repaired_total', { rule: 'high_below_open' })).toBe(1);
    expect(sample(text, 'pipeline_bars_rejected_total', { rule: 'non_positive_price' })).toBe(2);
    expect(
      sample(text, 'pipeline_cache_operation_duration_seconds_bucket', { op: 'append', le: '0.0005' }),
    ).toBe(1);
    expect(sample(text, 'pipeline_store_operation_duration_seconds_sum', { op: 'flush' })).toBeCloseTo(
      0.04,
      10,
    );
    expect(sample(text, 'pipeline_signal_latency_seconds_count')).toBe(1);
    expect(
      sample(text, 'pipeline_http_requests_total', {
        method: 'GET',
        route: '/signals/:symbol',
        status: '200',
      }),
    ).toBe(1);
    expect(
      sample(text, 'pipeline_http_request_duration_seconds_count', {
        method: 'GET',
        route: '/signals/:symbol',
      }),
    ).toBe(1);
    expect(lintMetricsText(text)).toEqual([]);
  });

  it('startTimer records a real elapsed duration', async () => {
    const m = make();
    const end = m.fetchDuration.startTimer({ source: 'yahoo' });
    await new Promise((r) => setTimeout(r, 20));
    const seconds = end();
    expect(seconds).toBeGreaterThanOrEqual(0.015);
    const text = await m.text();
    expect(sample(text, 'pipeline_fetch_duration_seconds_sum', { source: 'yahoo' })).toBeCloseTo(seconds, 6);
  });

  it('bad values are dropped and counted, never thrown', async () => {
    const m = make();
    expect(() => {
      m.cycleDuration.observe(Number.NaN);
      m.fetchDuration.observe({ source: 'yahoo' }, -1);
      m.barsIngested.inc({ source: 'yahoo' }, -5);
      m.cycleOverruns.inc(Number.POSITIVE_INFINITY);
    }).not.toThrow();
    const text = await m.text();
    expect(sample(text, 'pipeline_cycle_duration_seconds_count')).toBe(0);
    expect(
      sample(text, 'pipeline_dropped_observations_total', { metric: 'pipeline_cycle_duration_seconds' }),
    ).toBe(1);
    expect(
      sample(text, 'pipeline_dropped_observations_total', { metric: 'pipeline_fetch_duration_seconds' }),
    ).toBe(1);
    expect(
      sample(text, 'pipeline_dropped_observations_total', { metric: 'pipeline_bars_ingested_total' }),
    ).toBe(1);
    expect(
      sample(text, 'pipeline_dropped_observations_total', { metric: 'pipeline_cycle_overruns_total' }),
    ).toBe(1);
  });
});

describe('label values', () => {
  it('never carry secrets, query strings or unbounded sets', async () => {
    const m = make();
    m.httpRequests.inc({ method: 'BREW', route: '/bars/EURUSD?token=abc&limit=5', status: 999 });
    m.barsRejected.inc({ rule: 'apikey=S3CRET-KEY' });
    m.barsRepaired.inc({ rule: 'Bearer abc.def' });
    m.cacheOperationDuration.observe({ op: 'eyJhbGciOiJIUzI1NiJ9eyJzdWIiOiIxMjM0NTY3ODkwIn0' }, 0.001);
    m.fetchErrors.inc({ source: 'nasdaq', kind: 'exploded' });
    m.barsIngested.inc({ source: 'https://user:pw@yahoo.example' });
    m.storeOperationDuration.observe({ op: 'read_range_'.repeat(50) }, 0.001);
    m.barsRepaired.inc({ rule: 'close_outside_high_low_range_clamped' });
    m.httpRequests.inc({ method: 'GET', route: '/api/v1/bars/history/export/all', status: 200 });
    m.barsRejected.inc({ rule: 'DEMO1234ABCD5678' }); // alphavantage-shaped key
    const text = await m.text();
    expect(text).not.toMatch(/S3CRET|abc\.def|token=|eyJhbGci|user:pw/);
    expect(
      sample(text, 'pipeline_http_requests_total', {
        method: 'other',
        route: '/bars/EURUSD',
        status: 'other',
      }),
    ).toBe(1);
    expect(sample(text, 'pipeline_bars_rejected_total', { rule: 'redacted' })).toBe(2);
    expect(sample(text, 'pipeline_bars_repaired_total', { rule: 'redacted' })).toBe(1);
    expect(sample(text, 'pipeline_cache_operation_duration_seconds_count', { op: 'redacted' })).toBe(1);
    expect(sample(text, 'pipeline_fetch_errors_total', { source: 'other', kind: 'other' })).toBe(1);
    expect(sample(text, 'pipeline_bars_ingested_total', { source: 'other' })).toBe(1);
    expect(
      sample(text, 'pipeline_store_operation_duration_seconds_count', {
        op: 'read_range_'.repeat(50).slice(0, 64),
      }),
    ).toBe(1);
    expect(
      sample(text, 'pipeline_bars_repaired_total', { rule: 'close_outside_high_low_range_clamped' }),
    ).toBe(1);
    expect(
      sample(text, 'pipeline_http_requests_total', {
        method: 'GET',
        route: '/api/v1/bars/history/export/all',
        status: '200',
      }),
    ).toBe(1);
    expect(text).not.toContain('DEMO1234ABCD5678');
  });

  it('unknown or missing label keys from untyped callers never throw', async () => {
    const m = make();
    expect(() => {
      m.fetchErrors.inc({ source: 'yahoo', kind: 'auth', extra: 'x' } as never);
      m.fetchErrors.inc({ source: 'yahoo' } as never);
      m.cacheOperationDuration.observe({} as never, 0.001);
    }).not.toThrow();
    const text = await m.text();
    expect(sample(text, 'pipeline_fetch_errors_total', { source: 'yahoo', kind: 'auth' })).toBe(1);
    expect(sample(text, 'pipeline_fetch_errors_total', { source: 'yahoo', kind: 'other' })).toBe(1);
    expect(sample(text, 'pipeline_cache_operation_duration_seconds_count', { op: 'none' })).toBe(1);
  });

  it('constant labels go on every sample, process metrics included', async () => {
    const m = make({ labels: { instance: 'eu-1' }, defaultMetrics: true });
    m.cycleOverruns.inc();
    m.onScrape(() => ({ pendingWrites: 3 }));
    const text = await m.text();
    const samples = text.split('\n').filter((l) => l && !l.startsWith('#'));
    expect(samples.length).toBeGreaterThan(20);
    for (const line of samples) expect(line).toContain('instance="eu-1"');
    expect(sample(text, 'pipeline_pending_writes', { instance: 'eu-1' })).toBe(3);
  });
});

describe('process metrics', () => {
  it("are prefixed, and prom-client's _total gauges are dropped in favour of their by-type twins", async () => {
    const m = make({ defaultMetrics: true });
    const text = await m.text();
    expect(text).toContain('# TYPE pipeline_process_cpu_user_seconds_total counter');
    expect(text).toContain('# TYPE pipeline_nodejs_active_handles gauge');
    expect(text).not.toMatch(/nodejs_active_(handles|requests|resources)_total/);
    expect(text).not.toMatch(/^process_/m);
    // close() unregisters the process metrics too.
    m.close();
    expect(m.registry.getMetricsAsArray()).toHaveLength(0);
  });
});

describe('scrape-time gauges', () => {
  it('compute data age, pending writes, breaker state and budgets when scraped', async () => {
    const clock = new ManualClock();
    const m = make({ clock });
    const t0 = clock.now();
    let calls = 0;
    let symbols: Record<string, number | null> = { EURUSD: t0 - 5_000, XAUUSD: null, NAS100: t0 - 60_000 };
    m.onScrape(() => {
      calls++;
      return {
        lastBarTs: symbols,
        pendingWrites: 120,
        breakers: { yahoo: 'open', polygon: 'closed' },
        rateBudgets: { alphavantage: { perMinuteLeft: 4, perDayLeft: null } },
        stale: { EURUSD: false, NAS100: true },
        refreshIntervals: { yahoo: 3.2, twelvedata: null },
      };
    });
    m.onScrape(async () => ({ pendingWrites: 30 }));

    clock.advance(2_000);
    let text = await m.text();
    expect(calls).toBe(1); // one provider round per scrape, however many gauges
    expect(sample(text, 'pipeline_data_age_seconds', { symbol: 'EURUSD' })).toBe(7);
    expect(sample(text, 'pipeline_data_age_seconds', { symbol: 'NAS100' })).toBe(62);
    expect(sample(text, 'pipeline_data_age_seconds', { symbol: 'XAUUSD' })).toBeUndefined();
    expect(sample(text, 'pipeline_pending_writes')).toBe(150);
    expect(sample(text, 'pipeline_breaker_state', { source: 'yahoo', state: 'open' })).toBe(1);
    expect(sample(text, 'pipeline_breaker_state', { source: 'yahoo', state: 'closed' })).toBe(0);
    expect(sample(text, 'pipeline_breaker_state', { source: 'yahoo', state: 'half_open' })).toBe(0);
    expect(sample(text, 'pipeline_breaker_state', { source: 'polygon', state: 'closed' })).toBe(1);
    expect(sample(text, 'pipeline_rate_budget_remaining', { source: 'alphavantage', window: 'minute' })).toBe(
      4,
    );
    expect(
      sample(text, 'pipeline_rate_budget_remaining', { source: 'alphavantage', window: 'day' }),
    ).toBeUndefined();
    expect(sample(text, 'pipeline_data_stale', { symbol: 'EURUSD' })).toBe(0);
    expect(sample(text, 'pipeline_data_stale', { symbol: 'NAS100' })).toBe(1);
    expect(sample(text, 'pipeline_source_refresh_interval_seconds', { source: 'yahoo' })).toBe(3.2);
    expect(
      sample(text, 'pipeline_source_refresh_interval_seconds', { source: 'twelvedata' }),
    ).toBeUndefined();

    // The next scrape sees the new time and drops series that are gone.
    symbols = { EURUSD: t0 };
    clock.advance(1_500);
    text = await m.text();
    expect(calls).toBe(2);
    expect(sample(text, 'pipeline_data_age_seconds', { symbol: 'EURUSD' })).toBe(3.5);
    expect(sample(text, 'pipeline_data_age_seconds', { symbol: 'NAS100' })).toBeUndefined();
    expect(lintMetricsText(text)).toEqual([]);
  });

  it('a failing provider is reported and counted; the scrape and the other providers go on', async () => {
    const m = make();
    const errors: MetricsError[] = [];
    m.onScrapeError((e) => errors.push(e));
    m.onScrape(() => {
      throw new Error('store is closed');
    });
    const sub = m.onScrape(() => Promise.resolve({ pendingWrites: 7 }));
    const text = await m.text();
    expect(sample(text, 'pipeline_pending_writes')).toBe(7);
    expect(sample(text, 'pipeline_scrape_errors_total')).toBe(1);
    expect(errors).toHaveLength(1);
    expect(isMetricsError(errors[0], 'METRICS_PROVIDER_FAILED')).toBe(true);
    expect(errors[0]!.message).toContain('store is closed');
    sub.dispose();
    expect(sample(await m.text(), 'pipeline_pending_writes')).toBeUndefined();
  });

  it('store flush failures and bootstrap progress are read at scrape time, as counters and gauges', async () => {
    const m = make();
    // Nothing reported yet: no series at all (unknown is not 0).
    let text = await m.text();
    for (const name of [
      'pipeline_store_flush_failures_total',
      'pipeline_bootstrap_chunks_failed_total',
      'pipeline_bootstrap_progress_ratio',
      'pipeline_bootstrap_done',
    ])
      expect(sample(text, name)).toBeUndefined();

    const store = { failedFlushes: 0 };
    let bootstrap: { chunksPlanned: number; chunksDone: number; chunksFailed: number; done: boolean } | null =
      null;
    m.onScrape(() => ({ storeFlushFailures: store.failedFlushes, bootstrap }));
    m.onScrape(() => ({ storeFlushFailures: 2 })); // a second store: failures are summed
    text = await m.text();
    expect(sample(text, 'pipeline_store_flush_failures_total')).toBe(2);
    expect(sample(text, 'pipeline_bootstrap_progress_ratio')).toBeUndefined();
    expect(text).toContain('# TYPE pipeline_store_flush_failures_total counter');
    expect(text).toContain('# TYPE pipeline_bootstrap_chunks_failed_total counter');
    expect(text).toContain('# TYPE pipeline_bootstrap_progress_ratio gauge');

    store.failedFlushes = 3;
    bootstrap = { chunksPlanned: 40, chunksDone: 10, chunksFailed: 4, done: false };
    text = await m.text();
    // The store's running total is copied, not added to the previous scrape's value.
    expect(sample(text, 'pipeline_store_flush_failures_total')).toBe(5);
    expect(sample(text, 'pipeline_bootstrap_chunks_failed_total')).toBe(4);
    expect(sample(text, 'pipeline_bootstrap_progress_ratio')).toBe(0.25);
    expect(sample(text, 'pipeline_bootstrap_done')).toBe(0);
    expect(lintMetricsText(text)).toEqual([]);

    bootstrap = { chunksPlanned: 40, chunksDone: 40, chunksFailed: 4, done: true };
    text = await m.text();
    expect(sample(text, 'pipeline_bootstrap_progress_ratio')).toBe(1);
    expect(sample(text, 'pipeline_bootstrap_done')).toBe(1);

    // Nothing missing to fetch: done with nothing planned is complete, not 0/0.
    bootstrap = { chunksPlanned: 0, chunksDone: 0, chunksFailed: 0, done: true };
    expect(sample(await m.text(), 'pipeline_bootstrap_progress_ratio')).toBe(1);
    bootstrap = { chunksPlanned: 0, chunksDone: 0, chunksFailed: 0, done: false };
    expect(sample(await m.text(), 'pipeline_bootstrap_progress_ratio')).toBe(0);
  });

  it('bad flush-failure or bootstrap numbers produce no series instead of a wrong one', async () => {
    const m = make();
    m.onScrape(() => ({
      storeFlushFailures: Number.NaN,
      bootstrap: { chunksPlanned: -1, chunksDone: 0, chunksFailed: Number.POSITIVE_INFINITY, done: false },
    }));
    const text = await m.text();
    expect(sample(text, 'pipeline_store_flush_failures_total')).toBeUndefined();
    expect(sample(text, 'pipeline_bootstrap_chunks_failed_total')).toBeUndefined();
    expect(sample(text, 'pipeline_bootstrap_progress_ratio')).toBeUndefined();
    expect(sample(text, 'pipeline_bootstrap_done')).toBe(0);
  });
});

describe('output formats', () => {
  it("json() has prom-client's shape with the same values", async () => {
    const m = make();
    m.fetchErrors.inc({ source: 'yahoo', kind: 'auth' });
    m.cycleDuration.observe(1.5);
    const json = await m.json();
    const errors = json.find((f) => f.name === 'pipeline_fetch_errors_total')!;
    expect(errors).toMatchObject({ type: 'counter', help: expect.any(String) });
    expect(errors.values).toEqual([{ value: 1, labels: { source: 'yahoo', kind: 'auth' } }]);
    const cycle = json.find((f) => f.name === 'pipeline_cycle_duration_seconds')!;
    expect(cycle.type).toBe('histogram');
    expect(
      cycle.values.find(
        (v) => (v as { metricName?: string }).metricName === 'pipeline_cycle_duration_seconds_sum',
      )?.value,
    ).toBe(1.5);
    expect(JSON.parse(JSON.stringify(json))).toEqual(json);
    expect(m.contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
  });
});

describe('several instances', () => {
  it('two instances with their own registries do not collide', async () => {
    const a = make({ defaultMetrics: true });
    const b = make({ defaultMetrics: true });
    a.barsIngested.inc({ source: 'yahoo' }, 5);
    b.barsIngested.inc({ source: 'yahoo' }, 9);
    expect(sample(await a.text(), 'pipeline_bars_ingested_total', { source: 'yahoo' })).toBe(5);
    expect(sample(await b.text(), 'pipeline_bars_ingested_total', { source: 'yahoo' })).toBe(9);
  });

  it('two prefixes share one passed-in registry; the same prefix twice is refused until closed', async () => {
    const registry = new Registry();
    const a = make({ registry, prefix: 'collector_' });
    const b = make({ registry, prefix: 'replay_' });
    a.cycleOverruns.inc();
    b.cycleOverruns.inc(2);
    const text = await a.text();
    expect(sample(text, 'collector_cycle_overruns_total')).toBe(1);
    expect(sample(text, 'replay_cycle_overruns_total')).toBe(2);
    expect(lintMetricsText(text)).toEqual([]);

    let clash: unknown;
    try {
      createPipelineMetrics({ registry, prefix: 'collector_' });
    } catch (error) {
      clash = error;
    }
    expect(isMetricsError(clash, 'METRICS_NAME_CLASH')).toBe(true);
    expect((clash as MetricsError).metrics).toContain('collector_cycle_overruns_total');

    a.close();
    const again = make({ registry, prefix: 'collector_' });
    expect(sample(await again.text(), 'collector_cycle_overruns_total')).toBe(0);
  });

  it('process metrics already in the registry are refused and nothing is left behind', () => {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry, prefix: 'b_' });
    const before = registry
      .getMetricsAsArray()
      .map((m) => m.name)
      .sort();
    let error: unknown;
    try {
      createPipelineMetrics({ registry, prefix: 'b_', defaultMetrics: true });
    } catch (e) {
      error = e;
    }
    expect(isMetricsError(error, 'METRICS_NAME_CLASH')).toBe(true);
    expect((error as Error).message).toContain('process metrics with prefix "b_"');
    expect(
      registry
        .getMetricsAsArray()
        .map((m) => m.name)
        .sort(),
    ).toEqual(before);
    // Without process metrics the same prefix is fine.
    make({ registry, prefix: 'b_' });
  });
});
