// Batch Stochastic against TA-Lib's C core alone, the same method as indicators.ts (alternated runs of
// the C harness and our batch worker, 100,000 bars, best of three each), in about 30 s instead of the
// whole bench's minutes. Run: pnpm --filter @pipeline/features exec tsx bench/stochastic-vs-c.ts
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { randomSeries } from '../test/series';
import { runTalibC } from './talib-c/talib-c';

const BARS = Number(process.env.BENCH_BARS ?? 100_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);
const RUNS = Number(process.env.BENCH_BATCH_RUNS ?? 3);
const here = import.meta.dirname;
const s = randomSeries(20240102, BARS);
const best: Record<string, number> = {};
const keep = (k: string, v: number | null | undefined): void => {
  if (typeof v === 'number' && v > 0 && !(v >= (best[k] ?? Infinity))) best[k] = v;
};
for (let r = 0; r < RUNS; r++) {
  keep('TA_STOCH (C)', runTalibC(s, ROUNDS).results.Stochastic?.nsPerBar);
  const out = execFileSync(
    process.execPath,
    ['--import', 'tsx', join(here, 'worker.ts'), 'ours-batch', String(BARS), String(ROUNDS)],
    { cwd: join(here, '..'), encoding: 'utf8', maxBuffer: 1 << 24 },
  );
  const res = JSON.parse(out.trim().split('\n').pop()!).results as Record<string, number | null>;
  keep('stochasticBatch into', res['into Stochastic']);
  keep('stochasticBatch new outputs', res['batch Stochastic']);
}
const ratio = best['stochasticBatch into']! / best['TA_STOCH (C)']!;
console.log(best);
console.log(
  `ours (into) / TA-Lib C: ${ratio.toFixed(2)}x (goal <= 1.5x: ${ratio <= 1.5 ? 'pass' : 'MISSED'})`,
);
