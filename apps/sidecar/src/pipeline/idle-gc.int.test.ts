// IDLE_GC end to end: a sidecar whose loop runs (on a manual clock, so every cycle leaves about a
// second of idle time) forces V8 collections before its first cycle and between cycles with
// IDLE_GC=on (a young one when the young generation could fill inside the next cycle) and none with
// IDLE_GC=off.
// A collection forced through `gc()` carries perf_hooks' NODE_PERFORMANCE_GC_FLAGS_FORCED flag; V8's
// own collections do not.
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { cleanupTempDirs } from '@pipeline/test-utils';
import { createHarness, settle } from '../../test/harness';
import { heapFill } from './loop';

afterAll(() => cleanupTempDirs());

/**
 * The kinds (1 minor, 4 major) of the GCs forced while the sidecar's loop runs `cycles` cycles;
 * `before(i, n, own)` runs before cycle i, n forced so far, `own` young collections V8 made itself so
 * far (the jest process allocates too: in a full suite's worker V8 may scavenge between cycles, and
 * the idle time then collects the young generation, whose fill it could not measure).
 */
async function forcedGcsOver(
  idleGc: 'on' | 'off',
  cycles: number,
  before: (cycle: number, forcedSoFar: number, ownMinorsSoFar: number) => void = () => undefined,
): Promise<number[]> {
  const h = createHarness({ SYMBOLS: 'EURUSD', IDLE_GC: idleGc });
  const forced: number[] = [];
  let ownMinors = 0;
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const detail = (e as unknown as { detail?: { kind?: number; flags?: number } }).detail;
      if ((detail?.flags ?? 0) & constants.NODE_PERFORMANCE_GC_FLAGS_FORCED) forced.push(detail?.kind ?? 0);
      else if (detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR) ownMinors++;
    }
  });
  obs.observe({ entryTypes: ['gc'] });
  try {
    await h.sidecar.start({ skipBootstrap: true });
    for (let i = 0; i < cycles; i++) {
      before(i + 1, forced.length, ownMinors);
      h.clock.advance(1000);
      for (let j = 0; j < 5; j++) await settle();
    }
    expect(h.sidecar.health().loop.cycles).toBeGreaterThanOrEqual(cycles - 1);
    await h.sidecar.stop();
    // perf_hooks delivers the entries after the collection, on a later turn of the event loop.
    await new Promise((r) => setTimeout(r, 50));
    return forced;
  } finally {
    obs.disconnect();
  }
}

/** Short-lived objects until the young generation is 3/4 full. */
function fillYoung(): void {
  let sink: object[] = [];
  for (let n = 0; n < 1e6; n++) {
    const before = heapFill().youngUsed;
    sink = Array.from({ length: 1000 }, (_, i) => ({ i }));
    const { youngUsed, youngCapacity } = heapFill();
    if (youngUsed >= 0.75 * youngCapacity && youngUsed > before) break;
  }
  expect(sink).toHaveLength(1000);
}

describe('IDLE_GC', () => {
  it('off: the loop runs its cycles and no collection is forced between them', async () => {
    expect(await forcedGcsOver('off', 10)).toEqual([]);
  });

  it('on (the default): collections are forced before the first cycle and when the young generation fills', async () => {
    let beforeFill = -1;
    let ownBeforeFill = -1;
    const forced = await forcedGcsOver('on', 10, (cycle, n, own) => {
      if (cycle !== 5) return;
      beforeFill = n;
      ownBeforeFill = own;
      fillYoung();
    });
    // Before the first cycle: the young generation, then the whole heap (the first baseline); after
    // cycles 1-4 (one symbol leaves the young generation nearly empty) no full collection, and a
    // young one only for a period in which V8 scavenged on its own (none when the file runs alone).
    expect(forced.slice(0, 2)).toEqual([1, 4]);
    const between = forced.slice(2, beforeFill);
    expect(between.filter((k) => k !== 1)).toEqual([]);
    expect(between.length).toBeLessThanOrEqual(ownBeforeFill);
    // The young generation filled before cycle 5: collected in the idle time after it.
    expect(forced.slice(beforeFill)).toContain(1);
  });
});
