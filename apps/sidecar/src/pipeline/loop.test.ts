import { PerformanceObserver, constants } from 'node:perf_hooks';
import { ManualClock } from '@pipeline/core';
import {
  createCollectionLoop,
  createIdleGc,
  heapFill,
  IDLE_GC_MAX_REQUEST_RATE,
  noteForegroundWork,
  youngGenerationGc,
} from './loop';

const flush = () => new Promise((r) => setImmediate(r));

describe('createCollectionLoop', () => {
  it('ticks on wall-clock boundaries without drift', async () => {
    const clock = new ManualClock(Date.UTC(2024, 0, 2, 0, 0, 0, 300));
    const starts: number[] = [];
    const loop = createCollectionLoop({
      scheduler: clock,
      intervalMs: 1000,
      tick: async ({ startedAt }) => {
        starts.push(startedAt);
        clock.advance(37); // work takes 37 ms of clock time
      },
    });
    loop.start();
    for (let i = 0; i < 5; i++) {
      clock.advance(1000);
      await flush();
    }
    const base = Date.UTC(2024, 0, 2, 0, 0, 1);
    expect(starts).toEqual([0, 1, 2, 3, 4].map((i) => base + i * 1000));
    expect(loop.overruns).toBe(0);
    await loop.stop();
    expect(clock.pendingTimers).toBe(0);
  });

  it('never overlaps a slow cycle and counts the skipped boundaries', async () => {
    const clock = new ManualClock(Date.UTC(2024, 0, 2));
    let release: () => void = () => undefined;
    let active = 0;
    let maxActive = 0;
    const overruns: number[] = [];
    const loop = createCollectionLoop({
      scheduler: clock,
      intervalMs: 1000,
      onOverrun: ({ skipped }) => overruns.push(skipped),
      tick: () => {
        active++;
        maxActive = Math.max(maxActive, active);
        return new Promise<void>((r) => {
          release = () => {
            active--;
            r();
          };
        });
      },
    });
    loop.start();
    clock.advance(1000); // cycle 1 starts at t=1000 and hangs
    clock.advance(2500); // boundaries 2000 and 3000 pass while it runs
    expect(loop.cycles).toBe(1);
    release(); // ends at 3500: next boundary 4000; 2000 and 3000 were skipped
    await flush();
    expect(overruns).toEqual([2]);
    clock.advance(500);
    expect(loop.cycles).toBe(2);
    expect(maxActive).toBe(1);
    release();
    await loop.stop();
    expect(clock.pendingTimers).toBe(0);
  });

  it('keeps going after a failing cycle and stop() waits for the running one', async () => {
    const clock = new ManualClock(Date.UTC(2024, 0, 2));
    const errors: unknown[] = [];
    let n = 0;
    const loop = createCollectionLoop({
      scheduler: clock,
      intervalMs: 100,
      onError: (e) => errors.push(e),
      tick: async () => {
        n++;
        if (n === 1) throw new Error('boom');
      },
    });
    loop.start();
    clock.advance(100);
    await flush();
    clock.advance(100);
    await flush();
    expect(n).toBe(2);
    expect(errors).toHaveLength(1);
    await loop.stop();
    clock.advance(1000);
    expect(n).toBe(2);
  });

  it('rejects a bad interval and unknown options', () => {
    expect(() => createCollectionLoop({ intervalMs: 0 })).toThrow(/intervalMs.*got 0/);
    expect(() => createCollectionLoop({ intervalMS: 5 } as never)).toThrow(/unknown option "intervalMS"/);
  });

  it('runs betweenCycles after a cycle that leaves idle time before the next boundary, not after a long one', async () => {
    const clock = new ManualClock(Date.UTC(2024, 0, 2));
    const calls: number[] = [];
    const loop = createCollectionLoop({
      scheduler: clock,
      intervalMs: 1000,
      idleMinMs: 50,
      // The second cycle takes 980 ms of its second: 20 ms left is too little.
      tick: async ({ cycle }) => {
        await Promise.resolve(); // after the timer fired (not inside the clock's advance)
        clock.advance(cycle === 2 ? 980 : 10);
      },
      betweenCycles: () => calls.push(loop.cycles),
    });
    loop.start();
    for (let i = 0; i < 3; i++) {
      clock.advance(1000 - (clock.now() % 1000));
      await flush();
    }
    expect(loop.cycles).toBe(3);
    // 0: before the first cycle (what the start-up left), then after cycles 1 and 3.
    expect(calls).toEqual([0, 1, 3]);
    await loop.stop();
  });

  it('runs betweenCycles once before the first cycle, on the next turn, with the time to the first boundary', async () => {
    const clock = new ManualClock(Date.UTC(2024, 0, 2, 0, 0, 0, 300));
    const idle: number[] = [];
    const loop = createCollectionLoop({
      scheduler: clock,
      intervalMs: 1000,
      tick: async () => undefined,
      betweenCycles: (ms) => idle.push(ms),
    });
    loop.start();
    expect(idle).toEqual([]); // not inside start()
    clock.advance(0);
    expect(idle).toEqual([700]);
    expect(loop.cycles).toBe(0);
    clock.advance(700);
    expect(loop.cycles).toBe(1);
    await loop.stop();
    expect(clock.pendingTimers).toBe(0);
    // Stopped before it ran: nothing runs and nothing is left scheduled.
    const early = createCollectionLoop({ scheduler: clock, betweenCycles: (ms) => idle.push(ms) });
    early.start();
    await early.stop();
    expect(clock.pendingTimers).toBe(0);
    clock.advance(5000);
    expect(idle).toEqual([700]);
    // Too little time before the first boundary (idleMinMs): not run.
    clock.set(Math.ceil(clock.now() / 1000) * 1000 + 980);
    const late = createCollectionLoop({ scheduler: clock, betweenCycles: (ms) => idle.push(ms) });
    late.start();
    clock.advance(0);
    expect(idle).toEqual([700]);
    await late.stop();
  });
});

describe('youngGenerationGc', () => {
  it('collects the young generation now (a minor GC that perf_hooks sees)', async () => {
    const kinds: number[] = [];
    const obs = new PerformanceObserver((list) => {
      for (const e of list.getEntries())
        kinds.push((e as unknown as { detail: { kind: number } }).detail.kind);
    });
    obs.observe({ entryTypes: ['gc'] });
    const garbage = Array.from({ length: 1000 }, (_, i) => ({ i }));
    expect(garbage).toHaveLength(1000);
    kinds.length = 0;
    expect(youngGenerationGc()).toBe(true);
    await new Promise((r) => setTimeout(r, 20));
    obs.disconnect();
    expect(kinds).toContain(1); // NODE_PERFORMANCE_GC_MINOR
  });
});

describe('createIdleGc', () => {
  /** V8's own collections (not flagged forced) seen by {@link gcKinds}: kinds, in order. */
  const own: number[] = [];

  /**
   * The kinds of the collections forced (gc(), the idle GC's) while `fn` runs, as perf_hooks reports
   * them (1 minor, 4 major); V8's own go to `own`.
   */
  async function gcKinds(fn: () => void): Promise<number[]> {
    const kinds: number[] = [];
    const obs = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        const { kind, flags } = (e as unknown as { detail: { kind: number; flags: number } }).detail;
        (flags & constants.NODE_PERFORMANCE_GC_FLAGS_FORCED ? kinds : own).push(kind);
      }
    });
    obs.observe({ entryTypes: ['gc'] });
    fn();
    await new Promise((r) => setTimeout(r, 20));
    obs.disconnect();
    return kinds;
  }

  /** Allocates short-lived objects until the young generation is `fill` full (V8 collecting it on its own meanwhile starts over). */
  function fillYoung(fill: number): void {
    let sink: object[] = [];
    for (let n = 0; n < 1e6; n++) {
      const before = heapFill().youngUsed;
      sink = Array.from({ length: 1000 }, (_, i) => ({ i }));
      const { youngUsed, youngCapacity } = heapFill();
      if (youngUsed >= fill * youngCapacity && youngUsed > before) break;
    }
    expect(sink).toHaveLength(1000);
  }

  it('collects the whole heap first, then the young generation only when the next period could fill it', async () => {
    const idle = createIdleGc({ growthBytes: 2 ** 40 });
    // First call: the young generation, then the whole heap (the baseline is the live heap).
    expect(await gcKinds(() => idle(60_000))).toEqual([1, 4]);
    // Little allocated since: the young generation is left alone.
    expect(await gcKinds(() => idle(60_000))).toEqual([]);
    expect(await gcKinds(() => idle(60_000))).toEqual([]);
    // Past the fill limit (70 % by default): collected now, not inside the next cycle.
    fillYoung(0.75);
    expect(await gcKinds(() => idle(60_000))).toEqual([1]);
    expect(heapFill().youngUsed).toBeLessThan(0.2 * heapFill().youngCapacity);
  });

  it('forecasts the next period by the largest of the last 10: after a large one it collects early', async () => {
    const idle = createIdleGc({ growthBytes: 2 ** 40 });
    await gcKinds(() => idle(60_000));
    expect(await gcKinds(() => idle(60_000))).toEqual([]);
    // A period that takes 40 % of the young generation: 40 % now plus twice that would pass 70 %.
    fillYoung(0.4);
    expect(await gcKinds(() => idle(60_000))).toEqual([1]);
    // Nearly empty now, but the next period may take 40 % again, twice over: still collected.
    expect(await gcKinds(() => idle(60_000))).toEqual([1]);
    // Ten small periods later the large one is forgotten.
    for (let i = 0; i < 9; i++) await gcKinds(() => idle(60_000));
    expect(await gcKinds(() => idle(60_000))).toEqual([]);
  });

  it('while the periods fit in the young generation, collects the whole heap after 6 MB of growth, before V8 starts on its own (8 MB at least)', async () => {
    // A second per idle time, as in a 1 Hz loop (a full collection may take 2 % of the time since the last).
    let now = 0;
    const idle = createIdleGc({ now: () => (now += 1000) });
    expect(await gcKinds(() => idle(60_000))).toEqual([1, 4]);
    const base = heapFill().oldUsed;
    own.length = 0;
    const kept: object[][] = [];
    // Half a MB kept per period (a 1 Hz loop's symbol state), promoted by the idle time's own young collections.
    let grown = 0;
    for (let i = 0; i < 200; i++) {
      kept.push(Array.from({ length: 20_000 }, (_, k) => ({ k })));
      grown = heapFill().oldUsed - base;
      if ((await gcKinds(() => idle(60_000))).includes(4)) break;
    }
    // Ours came first (V8 did not mark, 8, or collect, 4, on its own), not at once (`grown` is
    // before that idle time's young collection, which promoted up to a few MB more), and long
    // before the 32 MB of the threshold for cycles that do not fit.
    expect(own.filter((k) => k === 4 || k === 8)).toEqual([]);
    expect(kept.length).toBeGreaterThanOrEqual(3);
    expect(grown).toBeLessThan(Math.max(8 * 2 ** 20, 0.1 * base));
  });

  it('a full collection when the heap grew by growthBytes, if the idle time allows', async () => {
    const idle = createIdleGc({ growthBytes: 2 * 2 ** 20, youngFill: 0 });
    expect(await gcKinds(() => idle(60_000))).toEqual([1, 4]);
    expect(await gcKinds(() => idle(60_000))).toEqual([1]); // youngFill 0: the young generation every time
    const kept: object[] = [];
    const grow = () => {
      for (let i = 0; i < 200_000; i++) kept.push({ i });
    };
    // Grown past 2 MB (under V8's own 8 MB), but 5 ms of idle time is too little for a full collection.
    expect(await gcKinds(() => (grow(), idle(5)))).not.toContain(4);
    expect(await gcKinds(() => idle(60_000))).toContain(4);
    expect(await gcKinds(() => idle(60_000))).not.toContain(4); // no growth since
    expect(kept.length).toBe(200_000);
  });

  it('keeps to the late threshold while a full collection would cost more than 2 % of the time since the last', async () => {
    // The clock stands still: no time since the last full collection, however cheap.
    const idle = createIdleGc({ now: () => 0 });
    expect(await gcKinds(() => idle(60_000))).toEqual([1, 4]);
    const base = heapFill().oldUsed;
    const kept: object[][] = [];
    let grown = 0;
    // Past the early threshold, short of V8's own least (8 MB or 10 %).
    const target = Math.max(6 * 2 ** 20, 0.075 * base) + 2 ** 20;
    while (grown < target && kept.length < 200) {
      kept.push(Array.from({ length: 20_000 }, (_, k) => ({ k })));
      expect(await gcKinds(() => idle(60_000))).not.toContain(4);
      grown = heapFill().oldUsed - base;
    }
    expect(grown).toBeGreaterThanOrEqual(target);
  });

  it('rejects a youngFill outside [0, 1]', () => {
    expect(() => createIdleGc({ youngFill: 1.5 })).toThrow(/youngFill/);
  });

  it('stands aside while the API serves more than IDLE_GC_MAX_REQUEST_RATE requests a second', async () => {
    // youngFill 0: the young generation every time it acts (what the assertions see).
    const idle = createIdleGc({ growthBytes: 4 * 2 ** 20, youngFill: 0 });
    expect(await gcKinds(() => idle(60_000))).toEqual([1, 4]);
    await new Promise((r) => setTimeout(r, 100));
    // 100 requests in about 100 ms: 1,000 a second.
    for (let i = 0; i < 100; i++) noteForegroundWork();
    expect(await gcKinds(() => idle(60_000))).toEqual([]);
    // A quiet spell: the young generation again.
    await new Promise((r) => setTimeout(r, 200));
    noteForegroundWork();
    expect(await gcKinds(() => idle(60_000))).toEqual([1]);
    expect(IDLE_GC_MAX_REQUEST_RATE).toBeLessThan(1000);
  });

  it('measures the request rate on the clock it is given (a benchmark running 1 Hz cycles back to back)', async () => {
    let now = 0;
    const idle = createIdleGc({ growthBytes: 4 * 2 ** 20, youngFill: 0, now: () => now });
    now += 1000;
    expect(await gcKinds(() => idle(60_000))).toEqual([1, 4]);
    // One request per (virtual) second: far below the limit, however fast the wall clock ran.
    for (let i = 0; i < 5; i++) {
      noteForegroundWork();
      now += 1000;
      expect(await gcKinds(() => idle(60_000))).toEqual([1]);
    }
    // More than the limit within one virtual second: it stands aside.
    for (let i = 0; i <= IDLE_GC_MAX_REQUEST_RATE; i++) noteForegroundWork();
    now += 1000;
    expect(await gcKinds(() => idle(60_000))).toEqual([]);
  });

  it('takes the first baseline without a full collection when the idle time is too short for one', async () => {
    const idle = createIdleGc({ growthBytes: 4 * 2 ** 20, youngFill: 0 });
    expect(await gcKinds(() => idle(5))).toEqual([1]);
    expect(await gcKinds(() => idle(60_000))).toEqual([1]); // no growth since the baseline
  });
});
