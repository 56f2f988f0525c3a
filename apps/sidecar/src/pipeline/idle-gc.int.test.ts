// IDLE_GC end to end: a sidecar whose loop runs (on a manual clock, so every cycle leaves about a
// second of idle time) forces V8 collections between cycles with IDLE_GC=on and none with IDLE_GC=off.
// A collection forced through `gc()` carries perf_hooks' NODE_PERFORMANCE_GC_FLAGS_FORCED flag; V8's
// own collections do not.
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { cleanupTempDirs } from '@pipeline/test-utils';
import { createHarness, settle } from '../../test/harness';

afterAll(() => cleanupTempDirs());

/** Forced GCs while the sidecar's loop runs `cycles` cycles. */
async function forcedGcsOver(idleGc: 'on' | 'off', cycles: number): Promise<number> {
  const h = createHarness({ SYMBOLS: 'EURUSD', IDLE_GC: idleGc });
  let forced = 0;
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const flags = (e as unknown as { detail?: { flags?: number } }).detail?.flags ?? 0;
      if (flags & constants.NODE_PERFORMANCE_GC_FLAGS_FORCED) forced++;
    }
  });
  obs.observe({ entryTypes: ['gc'] });
  try {
    await h.sidecar.start({ skipBootstrap: true });
    for (let i = 0; i < cycles; i++) {
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

describe('IDLE_GC', () => {
  it('off: the loop runs its cycles and no collection is forced between them', async () => {
    expect(await forcedGcsOver('off', 10)).toBe(0);
  });

  it('on (the default): collections are forced in the idle time between cycles', async () => {
    expect(await forcedGcsOver('on', 10)).toBeGreaterThanOrEqual(5);
  });
});
