// Our batch functions (into preallocated outputs) against TA-Lib's C core alone: the comparison that
// bench/indicators.ts reports, in about half a minute instead of the whole bench's minutes. Runs
// bench/talib-c/paired.ts (C and JavaScript calls alternated in one process pair, minimum per side)
// in BENCH_PAIRED_RUNS fresh processes over four warm-up histories; prints each indicator's median
// over the runs, their range and the worst run's ratio.
//
//   pnpm --filter @pipeline/features exec tsx bench/batch-vs-c.ts [indicator,...]
//   BENCH_PAIRED_RUNS=8 BENCH_PAIRED_ROUNDS=40 BENCH_BARS=100000   (the defaults)
import { loadavg } from 'node:os';
import { runPaired } from './talib-c/compare';

const BARS = Number(process.env.BENCH_BARS ?? 100_000);
const ROUNDS = Number(process.env.BENCH_PAIRED_ROUNDS ?? 40);
const RUNS = Number(process.env.BENCH_PAIRED_RUNS ?? 8);
const only = process.argv[2] ?? '';

const f = (x: number): string => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
const load0 = loadavg()[0] ?? NaN;
const { summary } = runPaired(BARS, ROUNDS, RUNS, only, (i, run) =>
  process.stderr.write(`run ${i + 1} of ${RUNS} (${run.history}) done\n`),
);
console.table(
  Object.entries(summary).map(([ind, s]) => ({
    indicator: ind,
    'ours into ns/bar': `${f(s.js)} (${f(s.jsRange[0])}-${f(s.jsRange[1])})`,
    'TA-Lib C ns/bar': `${f(s.c)} (${f(s.cRange[0])}-${f(s.cRange[1])})`,
    'ours / C': `${s.ratio.toFixed(2)}x`,
    'worst run': `${s.worstRatio.toFixed(2)}x`,
    'goal <= 1.5x': s.ratio <= 1.5 ? (s.worstRatio <= 1.5 ? 'yes' : 'yes (not every run)') : 'NO',
  })),
);
console.log(
  `${RUNS} fresh processes, ${ROUNDS} alternated calls per side each over ${BARS} bars; per run the minimum ` +
    `per side, then the median over the runs (range in brackets). Load average ${load0.toFixed(2)} at the ` +
    `start, ${(loadavg()[0] ?? NaN).toFixed(2)} at the end.`,
);
