// Long soak by hand: `SOAK_SECONDS=3600 pnpm --filter @pipeline/sidecar exec tsx reliability/soak.ts`
// (default 600 s, the 10 minutes; SOAK_SYMBOLS, default 500). Prints the numbers and writes
// <repo>/bench-results/soak.json. soak.rel.test.ts runs it as a child process with SOAK_RESULT_FILE:
// then the raw result goes to that file instead and bench-results/ is left alone.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '@pipeline/test-utils';
import { SOAK_LIMITS, runSoak } from './soak-run';

const seconds = process.env.SOAK_SECONDS ? Number(process.env.SOAK_SECONDS) : 600;
if (!Number.isFinite(seconds) || seconds < 20)
  throw new Error(`SOAK_SECONDS must be a number >= 20, got ${JSON.stringify(process.env.SOAK_SECONDS)}`);
const symbols = process.env.SOAK_SYMBOLS ? Number(process.env.SOAK_SYMBOLS) : 500;

const r = await runSoak({ seconds, symbols, onProgress: (line) => console.log(line) });
const measured = `${symbols} symbols, ${seconds - r.warmupSeconds} s after ${r.warmupSeconds} s warm-up`;
const rows = [
  {
    case: `event-loop delay p99 (${measured})`,
    unit: 'ms',
    ours: r.eventLoopMs.p99,
    goal: `< ${SOAK_LIMITS.eventLoopP99Ms} ms`,
    pass: r.pass.eventLoop,
  },
  { case: 'event-loop delay max', unit: 'ms', ours: r.eventLoopMs.max, goal: null, pass: null },
  {
    case: 'heap growth after warm-up (full GC at both ends)',
    unit: 'MB',
    ours: r.heapMb.growth,
    goal: `< ${r.heapMb.limit} MB`,
    pass: r.pass.heap,
  },
  { case: 'heap used at the end (after full GC)', unit: 'MB', ours: r.heapMb.end, goal: null, pass: null },
  {
    case: 'RSS growth after warm-up',
    unit: 'MB',
    ours: r.rssMb.growth,
    goal: `< ${r.rssMb.limit} MB`,
    pass: r.pass.rss,
  },
  { case: 'RSS at the end', unit: 'MB', ours: r.rssMb.end, goal: null, pass: null },
  {
    case: 'cycle overruns after warm-up',
    unit: 'count',
    ours: r.overruns,
    goal: `<= ${SOAK_LIMITS.overruns}`,
    pass: r.pass.overruns,
  },
  { case: 'cycle duration p50', unit: 'ms', ours: r.cycleMs.p50, goal: null, pass: null },
  {
    case: 'cycle duration p99',
    unit: 'ms',
    ours: r.cycleMs.p99,
    goal: '< 1000 ms (the interval)',
    pass: r.cycleMs.p99 < 1000,
  },
  { case: 'cycle duration max', unit: 'ms', ours: r.cycleMs.max, goal: null, pass: null },
  { case: 'cycles measured', unit: 'count', ours: r.cycles, goal: null, pass: null },
  {
    case: 'symbol fetches failed',
    unit: 'count',
    ours: r.failedSymbolCycles,
    goal: '0',
    pass: r.failedSymbolCycles === 0,
  },
].map((row) => ({ ...row, baseline: null, baselineValue: null, ratio: null }));

console.table(rows.map(({ case: c, unit, ours, goal, pass }) => ({ case: c, unit, ours, goal, pass })));
console.log(`heap trend (MB, every 5 s, no forced GC): ${r.heapTrendMb.join(' ')}`);
console.log(`RSS trend (MB, every 5 s): ${r.rssTrendMb.join(' ')}`);
console.log(`external memory after full GC (MB): ${r.externalMb.afterWarmup} -> ${r.externalMb.end}`);
const resultFile = process.env.SOAK_RESULT_FILE;
if (resultFile) {
  writeFileSync(resultFile, JSON.stringify(r, null, 2) + '\n');
  process.exit(0);
}
const dir = join(repoRoot(), 'bench-results');
mkdirSync(dir, { recursive: true });
const file = join(dir, 'soak.json');
writeFileSync(
  file,
  JSON.stringify(
    {
      package: '@pipeline/sidecar',
      date: new Date().toISOString(),
      machine: { cpus: cpus().length, node: process.version },
      rows: rows.map(({ case: c, unit, ours, baseline, baselineValue, ratio, goal, pass }) => ({
        case: c,
        unit,
        ours,
        baseline,
        baselineValue,
        ratio,
        goal,
        pass,
      })),
    },
    null,
    2,
  ) + '\n',
);
console.log(`wrote ${file}`);
process.exitCode = Object.values(r.pass).every(Boolean) ? 0 : 1;
