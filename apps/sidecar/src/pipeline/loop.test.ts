import { PerformanceObserver } from 'node:perf_hooks';
import { ManualClock } from '@pipeline/core';
import {
  createCollectionLoop,
  createIdleGc,
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
    expect(calls).toEqual([1, 3]);
    await loop.stop();
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
  /** The kinds of the GCs perf_hooks reports while `fn` runs (1 minor, 4 major). */
  async function gcKinds(fn: () => void): Promise<number[]> {
    const kinds: number[] = [];
    const obs = new PerformanceObserver((list) => {
      for (const e of list.getEntries())
        kinds.push((e as unknown as { detail: { kind: number } }).detail.kind);
    });
    obs.observe({ entryTypes: ['gc'] });
    fn();
    await new Promise((r) => setTimeout(r, 20));
    obs.disconnect();
    return kinds;
  }

  it('collects the young generation after every cycle, and the whole heap once it grew, if the idle time allows', async () => {
    const idle = createIdleGc({ growthBytes: 4 * 2 ** 20 });
    // First call: the whole heap too (the baseline is the live heap), when the idle time allows.
    expect(await gcKinds(() => idle(60_000))).toEqual([1, 4]);
    expect(await gcKinds(() => idle(60_000))).toEqual([1]); // no growth since
    const kept: object[] = [];
    const grow = () => {
      for (let i = 0; i < 200_000; i++) kept.push({ i });
    };
    // Grown past 4 MB, but 5 ms of idle time is too little for a full collection.
    expect(await gcKinds(() => (grow(), idle(5)))).not.toContain(4);
    expect(await gcKinds(() => idle(60_000))).toContain(4);
    expect(await gcKinds(() => idle(60_000))).not.toContain(4); // no growth since
    expect(kept.length).toBe(200_000);
  });

  it('stands aside while the API serves more than IDLE_GC_MAX_REQUEST_RATE requests a second', async () => {
    const idle = createIdleGc({ growthBytes: 4 * 2 ** 20 });
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
    const idle = createIdleGc({ growthBytes: 4 * 2 ** 20, now: () => now });
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
    const idle = createIdleGc({ growthBytes: 4 * 2 ** 20 });
    expect(await gcKinds(() => idle(5))).toEqual([1]);
    expect(await gcKinds(() => idle(60_000))).toEqual([1]); // no growth since the baseline
  });
});
