/**
 * A self-contained checker for Prometheus text exposition (format 0.0.4), covering the rules
 * `promtool check metrics` enforces plus this pipeline's naming rules, for machines (CI) without
 * promtool.
 */

export interface MetricsLintIssue {
  /** The metric family (or sample name) concerned. */
  metric: string;
  rule: MetricsLintRule;
  message: string;
}

export const METRICS_LINT_RULES = {
  syntax: 'syntax',
  invalidName: 'invalid_name',
  notSnakeCase: 'not_snake_case',
  missingHelp: 'missing_help',
  missingType: 'missing_type',
  duplicateFamily: 'duplicate_family',
  counterSuffix: 'counter_suffix',
  totalOnNonCounter: 'total_on_non_counter',
  reservedSuffix: 'reserved_suffix',
  nonBaseUnit: 'non_base_unit',
  timeWithoutSeconds: 'time_without_seconds',
  invalidLabel: 'invalid_label',
  histogramIncomplete: 'histogram_incomplete',
  badValue: 'bad_value',
} as const;
export type MetricsLintRule = (typeof METRICS_LINT_RULES)[keyof typeof METRICS_LINT_RULES];

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
// promtool's list of non-base units (lint "use base unit").
const NON_BASE_UNITS = [
  'milliseconds',
  'microseconds',
  'nanoseconds',
  'minutes',
  'hours',
  'days',
  'weeks',
  'kilobytes',
  'megabytes',
  'gigabytes',
  'terabytes',
  'kilometers',
  'millimeters',
  'centimeters',
  'grams',
  'kilograms',
  'celsius',
  'fahrenheit',
  'percent',
  'ms',
];
const TIME_WORDS = ['duration', 'latency', 'age', 'elapsed', 'delay', 'lag'];
const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+-?\d+)?$/;
const LABEL_PAIR = /\s*([^=\s]+)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(,|$)/y;

interface Family {
  help?: string;
  type?: string;
  samples: Array<{ name: string; labels: Record<string, string> }>;
}

/** Family a sample belongs to, given the declared families (histogram/summary suffixes). */
function familyOf(sample: string, families: Map<string, Family>): string {
  if (families.has(sample)) return sample;
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (sample.endsWith(suffix)) {
      const base = sample.slice(0, -suffix.length);
      const f = families.get(base);
      if (f && (f.type === 'histogram' || f.type === 'summary')) return base;
    }
  }
  return sample;
}

function parseLabels(text: string): Record<string, string> | string {
  const labels: Record<string, string> = {};
  LABEL_PAIR.lastIndex = 0;
  let pos = 0;
  while (pos < text.length) {
    LABEL_PAIR.lastIndex = pos;
    const m = LABEL_PAIR.exec(text);
    if (!m) return `cannot parse labels at ${JSON.stringify(text.slice(pos))}`;
    // Both groups are mandatory in LABEL_PAIR, so the defaults never apply.
    const [, name = '', value = ''] = m;
    if (labels[name] !== undefined) return `duplicate label ${name}`;
    labels[name] = value;
    pos = LABEL_PAIR.lastIndex;
  }
  return labels;
}

/** Returns every problem found; an empty list means the text passes. */
export function lintMetricsText(text: string): MetricsLintIssue[] {
  const issues: MetricsLintIssue[] = [];
  const families = new Map<string, Family>();
  const family = (name: string): Family => {
    let f = families.get(name);
    if (!f) {
      f = { samples: [] };
      families.set(name, f);
    }
    return f;
  };
  const add = (metric: string, rule: MetricsLintRule, message: string) =>
    issues.push({ metric, rule, message });
  const closed = new Set<string>();
  let current: string | undefined;

  for (const [index, raw] of text.split('\n').entries()) {
    const line = raw.trimEnd();
    if (line === '') continue;
    const where = `line ${index + 1}`;
    if (line.startsWith('#')) {
      const m = /^#\s+(HELP|TYPE)\s+(\S+)(?:\s+(.*))?$/.exec(line);
      if (!m) continue; // plain comment
      const [, kind, name = '', rest = ''] = m; // name is a mandatory group
      if (!NAME.test(name)) add(name, 'invalid_name', `${where}: invalid metric name`);
      if (current !== name && current !== undefined) closed.add(current);
      if (closed.has(name))
        add(name, 'duplicate_family', `${where}: family declared again after other families`);
      current = name;
      const f = family(name);
      if (kind === 'HELP') {
        if (f.help !== undefined) add(name, 'duplicate_family', `${where}: second HELP`);
        f.help = rest;
      } else {
        if (f.type !== undefined) add(name, 'duplicate_family', `${where}: second TYPE`);
        if (f.samples.length > 0) add(name, 'syntax', `${where}: TYPE after samples`);
        if (!TYPES.has(rest)) add(name, 'syntax', `${where}: unknown type ${JSON.stringify(rest)}`);
        f.type = rest;
      }
      continue;
    }
    const m = SAMPLE.exec(line);
    if (!m) {
      add('?', 'syntax', `${where}: cannot parse ${JSON.stringify(line)}`);
      continue;
    }
    const [, sampleName = '', , labelText = '', value = ''] = m; // name and value are mandatory groups
    const name = familyOf(sampleName, families);
    if (current !== name && current !== undefined) closed.add(current);
    if (closed.has(name)) add(name, 'duplicate_family', `${where}: samples of one family are not contiguous`);
    current = name;
    const labels = parseLabels(labelText);
    if (typeof labels === 'string') {
      add(name, 'syntax', `${where}: ${labels}`);
      continue;
    }
    for (const label of Object.keys(labels)) {
      if (!LABEL.test(label) || label.startsWith('__'))
        add(name, 'invalid_label', `${where}: invalid label name ${label}`);
    }
    // Values are Go ParseFloat input: NaN and Inf in any case (prom-client writes `Nan`).
    if (!/^([+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|[+-]?(inf|infinity)|nan)$/i.test(value)) {
      add(name, 'bad_value', `${where}: value ${JSON.stringify(value)} is not a float`);
    }
    family(name).samples.push({ name: sampleName, labels });
  }

  for (const [name, f] of families) {
    // A Map iterates in insertion order: families in the order they first appeared.
    if (!f.help) add(name, 'missing_help', 'no HELP text');
    if (!f.type) add(name, 'missing_type', 'no TYPE line');
    if (/[A-Z]/.test(name)) add(name, 'not_snake_case', 'metric names are snake_case');
    if (f.type === 'counter' && !name.endsWith('_total'))
      add(name, 'counter_suffix', 'counter names end with _total');
    if (f.type !== 'counter' && name.endsWith('_total'))
      add(name, 'total_on_non_counter', 'only counters end with _total');
    if (f.type !== 'histogram' && f.type !== 'summary' && /_(bucket|sum|count)$/.test(name)) {
      add(name, 'reserved_suffix', '_bucket, _sum and _count are reserved for histograms and summaries');
    }
    const words = name.split(/[_:]/);
    for (const unit of NON_BASE_UNITS) {
      if (words.includes(unit))
        add(name, 'non_base_unit', `use base units (seconds, bytes, ...), not ${unit}`);
    }
    if (TIME_WORDS.some((w) => words.includes(w)) && !words.includes('seconds')) {
      add(name, 'time_without_seconds', 'times are measured in seconds and named _seconds');
    }
    if (f.type === 'histogram') {
      const has = (suffix: string) => f.samples.some((s) => s.name === `${name}${suffix}`);
      const inf = f.samples.some((s) => s.name === `${name}_bucket` && s.labels.le === '+Inf');
      if (f.samples.length > 0 && (!has('_sum') || !has('_count') || !inf)) {
        add(name, 'histogram_incomplete', 'a histogram needs _bucket{le="+Inf"}, _sum and _count');
      }
    }
  }
  return issues;
}
