// How label values are turned into safe, low-cardinality strings: closed sets map to `other`, free
// text goes through sanitizeLabelValue (memoised), constant labels are added to every series.
import { FETCH_ERROR_KINDS, SOURCE_NAMES } from '@pipeline/core';
import { closedLabelValue, sanitizeLabelValue, toText } from './sanitize';

const KINDS: ReadonlySet<string> = new Set(Object.keys(FETCH_ERROR_KINDS));
const METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** How each label name is normalised: closed sets map to `other`, free text is sanitised. */
const labelRules = (sources: ReadonlySet<string>): Record<string, (value: unknown) => string> => ({
  source: (v) => closedLabelValue(v, sources),
  kind: (v) => closedLabelValue(v, KINDS),
  method: (v) => closedLabelValue(typeof v === 'string' ? v.toUpperCase() : v, METHODS),
  status: (v) => {
    const n = typeof v === 'number' ? v : Number(v);
    return Number.isInteger(n) && n >= 100 && n <= 599 ? String(n) : 'other';
  },
});

/** Sanitising is not free; the label values seen in practice are few, so results are memoised. */
const MEMO_LIMIT = 10_000;

export interface Labeller {
  /** The instance's constant labels, sanitised. */
  readonly constantLabels: Readonly<Record<string, string>>;
  /** Their names, appended to every metric's label names. */
  readonly constantNames: readonly string[];
  /**
   * A label builder for one metric's label names, each name's rule resolved once. Keys that are not
   * label names of the metric are ignored (prom-client would throw on them) and missing ones
   * normalise like any bad value, so the hot path never throws.
   */
  forNames(labelNames: readonly string[]): (raw: Record<string, unknown>) => Record<string, string>;
  /** One-off labels for the keys of `raw` (scrape time). */
  of(raw: Record<string, unknown>): Record<string, string>;
}

/**
 * @param constant the instance's constant labels
 * @param extraSources names accepted in `source` besides core's SOURCE_NAMES
 */
export function createLabeller(
  constant: Readonly<Record<string, string>>,
  extraSources: readonly string[] = [],
): Labeller {
  const LABEL_RULES = labelRules(new Set([...SOURCE_NAMES, ...extraSources]));
  const constantNames = Object.keys(constant);
  const constantLabels: Record<string, string> = {};
  for (const [name, value] of Object.entries(constant)) constantLabels[name] = sanitizeLabelValue(value);
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
  const forNames = (labelNames: readonly string[]) => {
    const rules = labelNames.map((name) => [name, LABEL_RULES[name] ?? sanitizeMemo] as const);
    const hasConstants = constantNames.length > 0;
    return (raw: Record<string, unknown>): Record<string, string> => {
      const out: Record<string, string> = hasConstants ? { ...constantLabels } : {};
      for (const [name, rule] of rules) out[name] = rule(raw[name]);
      return out;
    };
  };
  return {
    constantLabels,
    constantNames,
    forNames,
    of: (raw) => forNames(Object.keys(raw))(raw),
  };
}
