// Runs bench/talib-c/paired.ts in `runs` fresh Node processes and summarises them, for
// bench/indicators.ts and bench/batch-vs-c.ts.
//
// Within a process each side's figure is the minimum over its alternated calls (paired.ts says why).
// Between processes the JavaScript figure moves for a reason that is not noise: V8 compiles differently
// depending on what ran before, so the runs cycle through four warm-up histories (both call forms mixed;
// 18 calls with new outputs first, as bench/worker.ts does; `into` calls only; `into` calls only in a
// process that has detached an ArrayBuffer, which makes V8 check every typed-array access). The summary is the
// median over the runs of each side's per-run minimum (the same statistic for both sides) and the ratio
// of the two medians; the range over the runs is kept beside it, with the worst run's ratio.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

export const HISTORIES = ['mixed', 'plain-first', 'into-only', 'detached'] as const;

export interface PairedRun {
  history: string;
  results: Record<string, { js: number; c: number; jsMedian: number; cMedian: number; rounds: number }>;
}

export interface PairedSummary {
  /** Median over the runs of the per-run minimum, ns per bar. */
  js: number;
  c: number;
  /** js / c of the medians. */
  ratio: number;
  /** Range over the runs of the per-run minima, ns per bar. */
  jsRange: [number, number];
  cRange: [number, number];
  /** The largest per-run js / c. */
  worstRatio: number;
  /** Per run: [js, c] minima, ns per bar. */
  runs: [number, number][];
}

const here = import.meta.dirname;

/** One fresh process of paired.ts. */
export function runPairedOnce(bars: number, rounds: number, history: string, only = ''): PairedRun {
  const out = execFileSync(
    process.execPath,
    ['--import', 'tsx', join(here, 'paired.ts'), String(bars), String(rounds), only],
    {
      cwd: join(here, '..', '..'),
      encoding: 'utf8',
      maxBuffer: 1 << 24,
      env: { ...process.env, HISTORY: history },
    },
  );
  const line = out.trim().split('\n').pop() ?? '{}';
  const parsed = JSON.parse(line) as { results: PairedRun['results'] };
  return { history, results: parsed.results };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] ?? NaN) : ((s[m - 1] ?? NaN) + (s[m] ?? NaN)) / 2;
};

/** `runs` processes, the histories in turn; `onRun` is told after each. */
export function runPaired(
  bars: number,
  rounds: number,
  runs: number,
  only = '',
  onRun?: (i: number, run: PairedRun) => void,
): { summary: Record<string, PairedSummary>; runs: PairedRun[] } {
  const all: PairedRun[] = [];
  for (let i = 0; i < runs; i++) {
    const run = runPairedOnce(bars, rounds, HISTORIES[i % HISTORIES.length] ?? 'mixed', only);
    all.push(run);
    onRun?.(i, run);
  }
  const summary: Record<string, PairedSummary> = {};
  for (const ind of Object.keys(all[0]?.results ?? {})) {
    const pairs: [number, number][] = all.flatMap((r) => {
      const x = r.results[ind];
      return x === undefined ? [] : [[x.js, x.c] as [number, number]];
    });
    const js = pairs.map((p) => p[0]);
    const c = pairs.map((p) => p[1]);
    const mj = median(js);
    const mc = median(c);
    summary[ind] = {
      js: mj,
      c: mc,
      ratio: mj / mc,
      jsRange: [Math.min(...js), Math.max(...js)],
      cRange: [Math.min(...c), Math.max(...c)],
      worstRatio: Math.max(...pairs.map(([a, b]) => a / b)),
      runs: pairs,
    };
  }
  return { summary, runs: all };
}
