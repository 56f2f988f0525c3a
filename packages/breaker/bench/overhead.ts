// What the breaker adds to one call, against cockatiel's own composed policy doing comparable work
// (retry + breaker + timeout). Run: pnpm --filter @pipeline/breaker bench  (BENCH_CALLS=... for longer)
import { writeBenchResult } from '@pipeline/test-utils';
import {
  ConsecutiveBreaker,
  ExponentialBackoff,
  TimeoutStrategy,
  circuitBreaker,
  handleAll,
  retry,
  timeout,
  wrap,
} from 'cockatiel';
import { createBreakerRegistry } from '../src/index';

const CALLS = Number(process.env.BENCH_CALLS ?? 100_000);
const ROUNDS = 5;
const work = () => Promise.resolve(1);

/**
 * Best of ROUNDS runs per case after a warm-up, microseconds per call. The cases' rounds alternate
 * so that load from other processes on the machine hits every case alike.
 */
async function timeAll(cases: Array<() => Promise<unknown>>): Promise<number[]> {
  for (const run of cases) for (let i = 0; i < CALLS / 10; i++) await run();
  const best = cases.map(() => Infinity);
  for (let r = 0; r < ROUNDS; r++) {
    for (const [k, run] of cases.entries()) {
      const t = process.hrtime.bigint();
      for (let i = 0; i < CALLS; i++) await run();
      best[k] = Math.min(best[k] ?? Infinity, Number(process.hrtime.bigint() - t) / 1_000 / CALLS);
    }
  }
  return best;
}

const ours = createBreakerRegistry({ timeoutMs: 5_000 });
const oursNoTimeout = createBreakerRegistry({ timeoutMs: 0 });
const theirs = wrap(
  retry(handleAll, { maxAttempts: 2, backoff: new ExponentialBackoff() }),
  circuitBreaker(handleAll, { halfOpenAfter: 60_000, breaker: new ConsecutiveBreaker(5) }),
  timeout(5_000, TimeoutStrategy.Cooperative),
);
const [direct, oursUs, oursNoTimeoutUs, theirsUs, snapshotUs] = (await timeAll([
  () => work(),
  () => ours.execute('yahoo', work),
  () => oursNoTimeout.execute('yahoo', work),
  () => theirs.execute(() => work()),
  // Snapshot of a source with a full 200-attempt window (sorting for percentiles dominates).
  async () => ours.snapshot('yahoo'),
])) as [number, number, number, number, number];

const round = (n: number) => Math.round(n * 1000) / 1000;
const rows = [
  {
    case: 'direct call (no policy)',
    unit: 'us/call',
    ours: round(direct),
    baseline: null,
    baselineValue: null,
    ratio: null,
    goal: null,
    pass: null,
  },
  {
    case: 'execute(): breaker + retry + 5 s timeout',
    unit: 'us/call',
    ours: round(oursUs),
    baseline: 'cockatiel wrap(retry, circuitBreaker, timeout)',
    baselineValue: round(theirsUs),
    ratio: round(oursUs / theirsUs),
    goal: '<= 2x cockatiel composed, and < 20 us/call',
    pass: oursUs <= 2 * theirsUs && oursUs < 20,
  },
  {
    case: 'execute(): breaker + retry, timeout off',
    unit: 'us/call',
    ours: round(oursNoTimeoutUs),
    baseline: null,
    baselineValue: null,
    ratio: null,
    goal: '< 20 us/call',
    pass: oursNoTimeoutUs < 20,
  },
  {
    case: 'snapshot(source), 200-attempt window',
    unit: 'us/call',
    ours: round(snapshotUs),
    baseline: null,
    baselineValue: null,
    ratio: null,
    goal: '< 100 us/call',
    pass: snapshotUs < 100,
  },
];
console.table(
  rows.map(({ case: c, unit, ours: o, baselineValue, ratio, pass }) => ({
    case: c,
    unit,
    ours: o,
    cockatiel: baselineValue,
    ratio,
    pass,
  })),
);

writeBenchResult('breaker', { package: '@pipeline/breaker', rows });
