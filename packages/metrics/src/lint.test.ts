import { ManualClock } from '@pipeline/core';
import { populate } from '../test/populate';
import { createPipelineMetrics, lintMetricsText, type MetricsLintRule, type PipelineMetrics } from './index';

const rulesOf = (text: string): MetricsLintRule[] =>
  [...new Set(lintMetricsText(text).map((i) => i.rule))].sort();

describe('lintMetricsText catches what promtool would', () => {
  it.each<[string, string, MetricsLintRule[]]>([
    [
      'counter without _total',
      '# HELP a_requests Requests.\n# TYPE a_requests counter\na_requests 1\n',
      ['counter_suffix'],
    ],
    [
      '_total on a gauge',
      '# HELP a_open_total Open.\n# TYPE a_open_total gauge\na_open_total 1\n',
      ['total_on_non_counter'],
    ],
    ['missing HELP', '# TYPE a_x gauge\na_x 1\n', ['missing_help']],
    ['missing TYPE', '# HELP a_x X.\na_x 1\n', ['missing_type']],
    [
      'camelCase',
      '# HELP a_fetchErrors_total E.\n# TYPE a_fetchErrors_total counter\na_fetchErrors_total 1\n',
      ['not_snake_case'],
    ],
    [
      'milliseconds',
      '# HELP a_fetch_milliseconds F.\n# TYPE a_fetch_milliseconds gauge\na_fetch_milliseconds 1\n',
      ['non_base_unit'],
    ],
    [
      'duration without unit',
      '# HELP a_cycle_duration D.\n# TYPE a_cycle_duration gauge\na_cycle_duration 1\n',
      ['time_without_seconds'],
    ],
    [
      '_count on a gauge',
      '# HELP a_bar_count B.\n# TYPE a_bar_count gauge\na_bar_count 1\n',
      ['reserved_suffix'],
    ],
    ['bad label name', '# HELP a_x X.\n# TYPE a_x gauge\na_x{__x="1"} 1\n', ['invalid_label']],
    ['bad value', '# HELP a_x X.\n# TYPE a_x gauge\na_x one\n', ['bad_value']],
    ['bad line', '# HELP a_x X.\n# TYPE a_x gauge\na_x{k=1} 1\n', ['syntax']],
    ['not a float', '# HELP a_x X.\n# TYPE a_x gauge\na_x 1.2.3\n', ['bad_value']],
    [
      'histogram without +Inf',
      '# HELP a_d_seconds D.\n# TYPE a_d_seconds histogram\na_d_seconds_bucket{le="1"} 1\na_d_seconds_sum 1\na_d_seconds_count 1\n',
      ['histogram_incomplete'],
    ],
    [
      'split family',
      '# HELP a_x X.\n# TYPE a_x gauge\na_x{k="1"} 1\n# HELP a_y Y.\n# TYPE a_y gauge\na_y 1\na_x{k="2"} 1\n',
      ['duplicate_family'],
    ],
  ])('%s', (_name, text, rules) => {
    expect(rulesOf(text)).toEqual(rules);
  });

  it('accepts a well-formed exposition with escapes in label values', () => {
    const text = [
      '# HELP a_d_seconds Durations.',
      '# TYPE a_d_seconds histogram',
      'a_d_seconds_bucket{le="0.5",route="/x \\"q\\""} 1',
      'a_d_seconds_bucket{le="+Inf",route="/x \\"q\\""} 2',
      'a_d_seconds_sum{route="/x \\"q\\""} 1.5e0',
      'a_d_seconds_count{route="/x \\"q\\""} 2',
      '# HELP a_up Up.',
      '# TYPE a_up gauge',
      'a_up NaN',
      '',
    ].join('\n');
    expect(lintMetricsText(text)).toEqual([]);
  });
});

describe('the pipeline metrics pass the lint', () => {
  let metrics: PipelineMetrics | undefined;
  afterEach(() => metrics?.close());

  it('every metric, populated, with process metrics and constant labels', async () => {
    const clock = new ManualClock();
    metrics = createPipelineMetrics({ defaultMetrics: true, labels: { instance: 'a' }, clock });
    populate(metrics, clock);
    const text = await metrics.text();
    expect(lintMetricsText(text)).toEqual([]);
    for (const name of Object.values(metrics.names)) expect(text).toContain(`# TYPE ${name} `);
  });
});
