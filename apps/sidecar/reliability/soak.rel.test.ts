// The soak (see soak-run.ts): 500 synthetic symbols for SOAK_SECONDS (600 on CI, 60 locally by
// default). Memory must stay flat after warm-up, the event loop responsive and no cycle overrun.
import { SOAK_LIMITS, runSoak, soakSecondsFromEnv, type SoakResult } from './soak-run';

const seconds = soakSecondsFromEnv();

describe(`soak: 500 synthetic symbols for ${seconds} s`, () => {
  let result: SoakResult;
  beforeAll(async () => {
    result = await runSoak({ seconds });
    console.log(JSON.stringify(result, null, 2));
  }, (seconds + 90) * 1_000);

  it('ran every cycle for every symbol', () => {
    // A 1 s loop: about one cycle per second of the measured span, each serving all 500 symbols.
    expect(result.cycles).toBeGreaterThanOrEqual((seconds - result.warmupSeconds) * 0.9);
    expect(result.failedSymbolCycles).toBe(0);
    expect(result.barsWritten).toBeGreaterThanOrEqual(result.cycles * 500);
  });

  it('never overran a cycle', () => {
    expect(result.overruns).toBe(SOAK_LIMITS.overruns);
    expect(result.cycleMs.max).toBeLessThan(1_000);
  });

  it(`keeps the event-loop delay p99 under ${SOAK_LIMITS.eventLoopP99Ms} ms`, () => {
    expect(result.eventLoopMs.p99).toBeLessThan(SOAK_LIMITS.eventLoopP99Ms);
  });

  it('keeps memory flat after warm-up (heap after a full GC, and RSS)', () => {
    expect(result.heapMb.growth).toBeLessThan(result.heapMb.limit);
    expect(result.rssMb.growth).toBeLessThan(result.rssMb.limit);
  });
});
