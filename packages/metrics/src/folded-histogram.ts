// The label-free histograms (cycle duration, signal latency) are observed on the sidecar's hot path,
// once per signal: prom-client's observe() builds a label object, a hash string and a value pair per
// call. Here observe() only counts into typed arrays; the totals are written into the prom-client
// histogram when it is read (its collect callback runs before every text(), json() or get()). The
// exposition is the one prom-client's own observe() gives: the same bucket of each value (the first
// upper bound >= it), the same count, and the sum added in the same order from 0, so the same float.
import { Histogram, type Registry } from 'prom-client';

/** prom-client 15's value of one label set (lib/histogram.js createBaseValues); not in its typings. */
interface PromHistogramEntry {
  bucketValues: Record<string, number>;
  sum: number;
  count: number;
}

export interface FoldedHistogram {
  /** Counts one value (already checked: finite and >= 0). */
  observe(value: number): void;
}

/**
 * A prom-client histogram with the labels `labels` (the constant labels; no others) whose observations
 * are counted here and folded in on collect. Only this handle may observe it; `reset()` (the registry's
 * `resetMetrics()`) clears both.
 */
export function createFoldedHistogram(config: {
  name: string;
  help: string;
  labels: Readonly<Record<string, string>>;
  buckets: number[];
  registers: Registry[];
}): FoldedHistogram {
  const bounds = Float64Array.from(config.buckets);
  const counts = new Float64Array(bounds.length);
  // Count, sum and the count when last folded (a read with nothing new observed writes nothing), in a
  // typed array: a double in a closure variable is boxed anew on every write (16 B per observe).
  const totals = new Float64Array(3);
  const COUNT = 0;
  const SUM = 1;
  const FOLDED = 2;
  const h = new Histogram({
    name: config.name,
    help: config.help,
    labelNames: Object.keys(config.labels),
    buckets: config.buckets,
    registers: config.registers,
    collect() {
      const count = totals[COUNT] ?? 0;
      if (count === totals[FOLDED]) return;
      const entry = entryOf(this) ?? (this.zero(config.labels), entryOf(this));
      if (entry === undefined)
        throw new Error(`${config.name}: prom-client's histogram has no series to fold into`);
      entry.count = count;
      entry.sum = totals[SUM] ?? NaN;
      const values = entry.bucketValues;
      for (let i = 0; i < bounds.length; i++) values[String(bounds[i] ?? NaN)] = counts[i] ?? 0;
      totals[FOLDED] = count;
    },
  });
  // The fold writes into prom-client's undocumented per-series value (15.x: hashMap ->
  // { bucketValues, sum, count }); the package allows any 15.x. If this release keeps it otherwise,
  // observe through prom-client's own API instead: slower, never wrong.
  if (!hasKnownShape(h, bounds, config.labels))
    return { observe: (value) => h.observe(config.labels, value) };
  const reset = h.reset.bind(h);
  h.reset = () => {
    reset();
    counts.fill(0);
    totals.fill(0);
  };
  return {
    observe(value) {
      for (let i = 0; i < bounds.length; i++) {
        if (value <= (bounds[i] ?? NaN)) {
          counts[i] = (counts[i] ?? 0) + 1;
          break;
        }
      }
      totals[COUNT] = (totals[COUNT] ?? 0) + 1;
      totals[SUM] = (totals[SUM] ?? 0) + value;
    },
  };
}

/**
 * True when the series of `h` (made by `zero` and removed again when there was none) has the shape the fold writes:
 * numeric `sum` and `count`, and a numeric `bucketValues` entry under each bound's string.
 */
function hasKnownShape(
  h: Histogram,
  bounds: Float64Array,
  labels: Readonly<Record<string, string>>,
): boolean {
  const had = entryOf(h) !== undefined; // a label-free histogram starts with its zero series
  try {
    if (!had) h.zero(labels);
    const entry = entryOf(h) as Partial<PromHistogramEntry> | undefined;
    const values = entry?.bucketValues;
    const ok =
      typeof entry?.sum === 'number' &&
      typeof entry.count === 'number' &&
      typeof values === 'object' &&
      values !== null &&
      Array.from(bounds).every((b) => typeof values[String(b)] === 'number');
    return ok;
  } catch {
    return false;
  } finally {
    if (!had) h.remove(labels);
  }
}

/** The one series of a histogram with a single label set, or undefined before it has one. */
function entryOf(h: Histogram): PromHistogramEntry | undefined {
  const map = (h as unknown as { hashMap: Record<string, PromHistogramEntry> }).hashMap;
  for (const key in map) return map[key];
  return undefined;
}
