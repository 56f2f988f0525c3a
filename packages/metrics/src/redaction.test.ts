// Issue 11: every known secret spelling, fed through every path of this package that ends up in a
// scrape (free-text labels, closed-set labels, constant labels, the scrape-error report), never
// reaches the exposition or the JSON.
import { SECRET_SPELLINGS as SPELLINGS, TEST_SECRET as SECRET } from '@pipeline/test-utils';
import { createPipelineMetrics, type MetricsError } from './index';

const shapes = (name: string): string[] => [
  `/q?${name}=${SECRET}`,
  `${name}=${SECRET}`,
  `${name}: ${SECRET}`,
  JSON.stringify({ [name]: SECRET }),
  `https://x.io/v1/q?symbol=IBM&${name}=${SECRET}`,
];
const credentials = [
  `Authorization: Bearer ${SECRET}`,
  `Bearer ${SECRET}`,
  `Basic ${Buffer.from(`user:${SECRET}`).toString('base64')}`,
  `redis://user:${SECRET}@cache:6379`,
];

it('no secret spelling reaches a label value, a constant label or a scrape error report', async () => {
  const values = [...SPELLINGS.flatMap(shapes), ...credentials];
  const metrics = createPipelineMetrics({ defaultMetrics: false });
  for (const value of values) {
    metrics.barsRejected.inc({ rule: value });
    metrics.barsRepaired.inc({ rule: value });
    metrics.cacheOperationDuration.observe({ op: value }, 0.001);
    metrics.storeOperationDuration.observe({ op: value }, 0.001);
    metrics.httpRequests.inc({ method: 'GET', route: value, status: 200 });
    metrics.httpRequestDuration.observe({ method: value, route: value }, 0.01);
    metrics.fetchErrors.inc({ source: value, kind: value });
    metrics.fetchDuration.observe({ source: value }, 0.1);
  }
  const reports: MetricsError[] = [];
  metrics.onScrapeError((e) => reports.push(e));
  metrics.onScrape(() => ({
    lastBarTs: Object.fromEntries(values.map((v, i) => [v, 1_000 + i])),
    breakers: Object.fromEntries(values.map((v) => [v, 'open' as const])),
    rateBudgets: Object.fromEntries(values.map((v) => [v, { perMinuteLeft: 1, perDayLeft: 2 }])),
  }));
  metrics.onScrape(() => {
    throw new Error(`GET https://x.io/?apikey=${SECRET} failed`);
  });
  const text = await metrics.text();
  const json = JSON.stringify(await metrics.json());
  expect(text).not.toContain(SECRET);
  expect(json).not.toContain(SECRET);
  expect(text).toContain('rule="redacted"');
  expect(reports).toHaveLength(2); // one per scrape (text and json)
  for (const report of reports) {
    expect(report.message).toContain('apikey=***');
    expect(report.message).not.toContain(SECRET);
  }
  metrics.close();

  for (const value of values) {
    const withLabel = createPipelineMetrics({ labels: { instance: value } });
    const out = await withLabel.text();
    expect(out).not.toContain(SECRET);
    withLabel.close();
  }
});
