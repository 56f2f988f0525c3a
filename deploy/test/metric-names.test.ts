// Every PromQL expression in the alert rules and the Grafana dashboard names a metric (and label
// names) that a real @pipeline/metrics registry exposes, configured as the sidecar configures it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { createPipelineMetrics, type PipelineMetrics } from '@pipeline/metrics';
import { exposedSeries, selectorsOf, unknownReferences } from './promql';

const deployDir = join(__dirname, '..');

interface RuleFile {
  groups: { name: string; rules: { alert?: string; record?: string; expr: string }[] }[];
}
interface Panel {
  title?: string;
  type: string;
  targets?: { expr: string }[];
  panels?: Panel[];
}
interface Dashboard {
  panels: Panel[];
  templating: { list: { name: string; type: string; query?: string | { query: string } }[] };
}

function alertExprs(): [string, string][] {
  const file = parse(readFileSync(join(deployDir, 'prometheus/alerts.yml'), 'utf8')) as RuleFile;
  return file.groups.flatMap((g) =>
    g.rules.map((r): [string, string] => [r.alert ?? r.record ?? '?', r.expr]),
  );
}

function dashboard(): Dashboard {
  return JSON.parse(readFileSync(join(deployDir, 'grafana/pipeline.json'), 'utf8')) as Dashboard;
}

function dashboardExprs(): [string, string][] {
  const d = dashboard();
  const panels = d.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
  const out: [string, string][] = panels.flatMap((p) =>
    (p.targets ?? []).map((t): [string, string] => [p.title ?? '?', t.expr]),
  );
  for (const v of d.templating.list) {
    if (v.type !== 'query' || !v.query) continue;
    out.push([`$${v.name}`, typeof v.query === 'string' ? v.query : v.query.query]);
  }
  return out;
}

let metrics: PipelineMetrics;
let exposed: Map<string, Set<string>>;

beforeAll(async () => {
  // As the sidecar does (apps/sidecar/src/wiring.ts): default prefix, process metrics on.
  metrics = createPipelineMetrics({ defaultMetrics: true });
  // Touch every handle so that every labelled family has a series in the text.
  metrics.cycleDuration.observe(0.2);
  metrics.cycleOverruns.inc();
  metrics.fetchDuration.observe({ source: 'yahoo' }, 0.1);
  metrics.fetchErrors.inc({ source: 'yahoo', kind: 'transient' });
  metrics.barsIngested.inc({ source: 'yahoo' });
  metrics.barsRepaired.inc({ rule: 'ohlc' });
  metrics.barsRejected.inc({ rule: 'nonFinite' });
  metrics.cacheOperationDuration.observe({ op: 'append' }, 0.001);
  metrics.storeOperationDuration.observe({ op: 'flush' }, 0.01);
  metrics.signalLatency.observe(0.05);
  metrics.httpRequests.inc({ method: 'GET', route: '/signals', status: 200 });
  metrics.httpRequestDuration.observe({ method: 'GET', route: '/signals' }, 0.002);
  metrics.onScrape(() => ({
    lastBarTs: { EURUSD: Date.now() - 5_000 },
    pendingWrites: 3,
    breakers: { yahoo: 'closed' },
    rateBudgets: { alphavantage: { perMinuteLeft: 5, perDayLeft: 25 } },
    stale: { EURUSD: false },
    refreshIntervals: { yahoo: 2 },
    storeFlushFailures: 0,
    bootstrap: { chunksPlanned: 4, chunksDone: 2, chunksFailed: 0, done: false },
  }));
  exposed = exposedSeries(await metrics.text());
});

afterAll(() => metrics.close());

describe('the PromQL reader', () => {
  it('finds metric and label names and skips functions, keywords, variables and durations', () => {
    expect(
      selectorsOf(
        'histogram_quantile(0.99, sum by (le, op) (rate(pipeline_store_operation_duration_seconds_bucket{instance=~"$instance"}[$__rate_interval]))) > 2 and on (instance) up offset 15m',
      ),
    ).toEqual([
      { metric: 'pipeline_store_operation_duration_seconds_bucket', labels: ['instance'] },
      { metric: 'up', labels: [] },
    ]);
    expect(selectorsOf('label_values(pipeline_cycle_duration_seconds_count, instance)')).toEqual([
      { metric: 'pipeline_cycle_duration_seconds_count', labels: ['instance'] },
    ]);
  });

  it('reports a metric the registry does not expose and a label it does not carry', () => {
    expect(unknownReferences('rate(pipeline_store_flush_errors_total[5m]) > 0', exposed)).toEqual([
      'unknown metric pipeline_store_flush_errors_total',
    ]);
    expect(unknownReferences('pipeline_breaker_state{source="yahoo",sate="open"}', exposed)).toEqual([
      'pipeline_breaker_state has no label sate',
    ]);
  });
});

describe('alert rules', () => {
  const rules = alertExprs();
  it('has the six concerns of issue 14', () => {
    expect(rules.map(([name]) => name)).toEqual(
      expect.arrayContaining([
        'PipelineDataStale',
        'PipelineBreakerOpen',
        'PipelineRateBudgetSpent',
        'PipelineCycleOverruns',
        'PipelineBootstrapChunksFailed',
        'PipelineBootstrapStuck',
        'PipelineStoreFlushFailing',
      ]),
    );
  });
  it.each(rules)('%s selects only exposed metrics and labels', (_name, expr) => {
    expect(selectorsOf(expr).length).toBeGreaterThan(0);
    expect(unknownReferences(expr, exposed)).toEqual([]);
  });
});

describe('Grafana dashboard', () => {
  const exprs = dashboardExprs();
  it('covers the pipeline metric families', () => {
    const used = new Set(
      exprs.flatMap(([, e]) => selectorsOf(e).map((s) => s.metric.replace(/_(bucket|count|sum)$/, ''))),
    );
    for (const name of Object.values(metrics.names)) {
      if (name === 'pipeline_scrape_errors_total' || name === 'pipeline_dropped_observations_total') continue;
      expect(used).toContain(name);
    }
  });
  it.each(exprs)('%s selects only exposed metrics and labels: %s', (_title, expr) => {
    expect(selectorsOf(expr).length).toBeGreaterThan(0);
    expect(unknownReferences(expr, exposed)).toEqual([]);
  });
  it('has unique panel ids and every query on the $datasource variable', () => {
    const d = dashboard();
    const ids = d.panels.map((p) => (p as Panel & { id: number }).id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of d.panels as (Panel & { datasource?: { uid: string } })[]) {
      if (p.type !== 'row') expect(p.datasource?.uid).toBe('${datasource}');
    }
  });
});
