// Throughput of the validator. Run: pnpm --filter @pipeline/validator bench
// BENCH_BARS=5000000 for a longer run. Prints a table and writes <repo>/bench-results/validator.json.
import { ManualClock, type Bar } from '@pipeline/core';
import { type BenchRow, writeBenchResult } from '@pipeline/test-utils';
import { createValidator, type BarColumns, type RuleOverrides } from '@pipeline/validator';

const N = Number(process.env.BENCH_BARS ?? 2_000_000);
const ROUNDS = 3;
const T0 = Date.UTC(2020, 0, 1);
const MIN = 60_000;

function columns(n: number): BarColumns {
  const ts = new Float64Array(n);
  const open = new Float64Array(n);
  const high = new Float64Array(n);
  const low = new Float64Array(n);
  const close = new Float64Array(n);
  const volume = new Float64Array(n);
  let s = 42;
  const rand = (): number => {
    s = (s * 16807) % 2147483647;
    return s / 2147483647;
  };
  let p = 1.1;
  for (let i = 0; i < n; i++) {
    const o = p;
    p *= Math.exp((rand() - 0.5) * 0.0006);
    ts[i] = T0 + i * MIN;
    open[i] = o;
    close[i] = p;
    high[i] = Math.max(o, p) * (1 + rand() * 1e-4);
    low[i] = Math.min(o, p) * (1 - rand() * 1e-4);
    volume[i] = Math.floor(rand() * 1000);
  }
  return { symbol: 'EURUSD', timeframe: '1m', ts, open, high, low, close, volume };
}

function toBars(c: BarColumns): Bar[] {
  return Array.from({ length: c.ts.length }, (_, i) => ({
    symbol: c.symbol,
    timeframe: c.timeframe,
    ts: c.ts[i]!,
    open: c.open[i]!,
    high: c.high[i]!,
    low: c.low[i]!,
    close: c.close[i]!,
    volume: c.volume[i]!,
    source: 'replay' as const,
    final: true,
    quality: 1,
  }));
}

/** Best of ROUNDS runs, in bars per second. */
function measure(n: number, run: () => void): number {
  run(); // warm-up (JIT)
  let best = Infinity;
  for (let r = 0; r < ROUNDS; r++) {
    const t = process.hrtime.bigint();
    run();
    best = Math.min(best, Number(process.hrtime.bigint() - t) / 1e9);
  }
  return n / best;
}

const statelessOnly: RuleOverrides = {
  order: { enabled: false },
  duplicate: { enabled: false },
  spike: { enabled: false },
  stale: { enabled: false },
  flatline: { enabled: false },
  disagreement: { enabled: false },
};
const clock = new ManualClock(T0 + (N + 10) * MIN);
const cols = columns(N);
const rows: BenchRow[] = [];

// Baseline: the same stateless checks as a bare hand-written loop, with no rules engine, counters or results.
const bareLoop = measure(N, () => {
  let bad = 0;
  const { ts, open, high, low, close, volume } = cols;
  for (let i = 0; i < N; i++) {
    // i < N = the columns' length.
    const o = open[i]!,
      h = high[i]!,
      l = low[i]!,
      c = close[i]!,
      v = volume[i]!;
    if (!(
      Number.isFinite(ts[i]) &&
      Number.isFinite(o) &&
      Number.isFinite(h) &&
      Number.isFinite(l) &&
      Number.isFinite(c)
    ))
      bad++;
    else if (
      !(o > 0 && h > 0 && l > 0 && c > 0) ||
      l > h ||
      Math.max(o, c) > h ||
      Math.min(o, c) < l ||
      !(v >= 0) ||
      ts[i]! % MIN !== 0
    )
      bad++;
  }
  if (bad < 0) throw new Error('unreachable');
});

const stateless = createValidator({ clock, rules: statelessOnly });
const s1 = measure(N, () => void stateless.validateSeries(cols));
rows.push({
  case: 'validateSeries, columns, stateless rules',
  unit: 'bars/s',
  ours: s1,
  baseline: 'bare hand-written loop, same checks',
  baselineValue: bareLoop,
  ratio: s1 / bareLoop,
  goal: '>= 2,000,000 bars/s',
  pass: s1 >= 2_000_000,
});

const all = createValidator({ clock });
const s2 = measure(N, () => void all.validateSeries(cols));
rows.push({
  case: 'validateSeries, columns, all rules',
  unit: 'bars/s',
  ours: s2,
  baseline: null,
  baselineValue: null,
  ratio: null,
  goal: '>= 1,000,000 bars/s',
  pass: s2 >= 1_000_000,
});

// Built only now, so the column cases above run without 2 million objects on the heap (as history loads do).
const bars = toBars(cols);
const s3 = measure(N, () => void all.validateSeries(bars));
rows.push({
  case: 'validateSeries, Bar objects, all rules',
  unit: 'bars/s',
  ours: s3,
  baseline: null,
  baselineValue: null,
  ratio: null,
  goal: '>= 1,000,000 bars/s',
  pass: s3 >= 1_000_000,
});

const live = createValidator({ clock });
const liveN = Math.min(N, 500_000);
const s4 = measure(liveN, () => {
  live.reset();
  for (let i = 0; i < liveN; i++) live.validate(bars[i]!);
});
rows.push({
  case: 'validate() per bar (live path, result object + bar copy)',
  unit: 'bars/s',
  ours: s4,
  baseline: null,
  baselineValue: null,
  ratio: null,
  goal: null,
  pass: null,
});

console.log(`@pipeline/validator benchmark: ${N.toLocaleString('en-US')} bars, best of ${ROUNDS}`);
console.table(
  rows.map((r) => ({
    case: r.case,
    'bars/s': Math.round(r.ours).toLocaleString('en-US'),
    baseline:
      r.baselineValue === null
        ? ''
        : `${Math.round(r.baselineValue).toLocaleString('en-US')} (${r.baseline})`,
    ratio: r.ratio === null ? '' : r.ratio.toFixed(2),
    goal: r.goal ?? '',
    pass: r.pass === null ? '' : r.pass ? 'yes' : 'NO',
  })),
);

const out = writeBenchResult('validator', { package: '@pipeline/validator', rows });
console.log(`wrote ${out}`);
