// A small PromQL reader for the deploy checks: which metric names and label names an expression
// selects. It is not a parser; it handles what our rules and panels use (selectors with matchers,
// functions, aggregations with by/without, vector matching, ranges, offsets, Grafana variables).

/** One instant or range selector: `name{label="..."}`. */
export interface Selector {
  metric: string;
  labels: string[];
}

const KEYWORDS = new Set([
  'and',
  'or',
  'unless',
  'bool',
  'offset',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'inf',
  'nan',
  'start',
  'end',
  'atan2',
]);

/** Every selector in a PromQL expression (or in a Grafana `label_values(metric, label)` query). */
export function selectorsOf(expr: string): Selector[] {
  const values = expr.match(
    /^\s*label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*,\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)\s*$/,
  );
  // Both groups are mandatory in the pattern.
  if (values) return [{ metric: values[1]!, labels: [values[2]!] }];
  const s = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const out: Selector[] = [];
  const re = /(?<![\w.$])([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{[^}]*\})?(\s*\()?/g;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    const [, name = '', braces, call] = m; // name is a mandatory group
    if (call && !braces) continue; // a function or aggregation
    if (KEYWORDS.has(name.toLowerCase())) continue;
    const labels = [...(braces ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)/g)].map(
      (l) => l[1]!,
    );
    out.push({ metric: name, labels });
  }
  return out;
}

/** Sample names of a Prometheus text exposition, each with the label names its samples carry. */
export function exposedSeries(text: string): Map<string, Set<string>> {
  const names = new Map<string, Set<string>>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s/);
    if (!m) continue;
    const [, name = '', braces = ''] = m; // the name group is mandatory
    const labels = names.get(name) ?? new Set<string>();
    for (const [, label = ''] of braces.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="/g)) labels.add(label);
    names.set(name, labels);
  }
  return names;
}

/** Labels Prometheus adds to every scraped series. */
export const TARGET_LABELS = ['instance', 'job'];

/** Problems of one expression against an exposition: unknown metrics, unknown label names. */
export function unknownReferences(expr: string, exposed: Map<string, Set<string>>): string[] {
  const problems: string[] = [];
  for (const sel of selectorsOf(expr)) {
    const labels = exposed.get(sel.metric);
    if (!labels) {
      problems.push(`unknown metric ${sel.metric}`);
      continue;
    }
    for (const l of sel.labels) {
      if (l !== '__name__' && !labels.has(l) && !TARGET_LABELS.includes(l)) {
        problems.push(`${sel.metric} has no label ${l}`);
      }
    }
  }
  return problems;
}
