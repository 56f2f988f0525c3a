import { TIMEFRAME_MS, alignTs, type Bar } from '@pipeline/core';
import { cleanupTempDirs } from '@pipeline/test-utils';
import { createSqliteStore } from '@pipeline/sqlite-store';
import { createHarness, settle, type Harness } from '../test/harness';
import { at, defined } from '../test/at';

afterAll(() => cleanupTempDirs());

describe('sidecar collection cycle (real cache, SQLite, breakers, indicators)', () => {
  let h: Harness;
  afterEach(async () => {
    await h.sidecar.stop();
  });

  it('collects every symbol, writes cache and store, and produces signals once indicators are stable', async () => {
    h = createHarness();
    for (let i = 0; i < 40; i++) {
      await h.sidecar.runCycle();
      h.clock.advance(60_000);
    }
    const bars = await h.sidecar.bars('EURUSD', '1m', 500);
    // Every minute: the previous bar (final) and the forming one; the forming bar is replaced in place.
    expect(bars.bars).toHaveLength(41);
    const served = defined(at(h.fetchers, 0).served.get('EURUSD'), 'served EURUSD bars');
    const lastServed = at(served, -1);
    expect(bars.bars.at(-1)).toMatchObject({ ts: lastServed.ts, close: lastServed.close, final: false });
    const signal = h.sidecar.signal('EURUSD');
    expect(signal).not.toBeNull();
    expect(signal!.indicators.ema26).not.toBeNull();
    expect(['long', 'short', 'flat']).toContain(signal!.direction);
    expect(h.sidecar.signals().map((s) => s.symbol)).toEqual(['EURUSD', 'XAUUSD']);
    expect(at(h.fetchers, 1).calls).toBe(0);
  });

  it("publishes each symbol's accepted bars as its own onBars event, in an array the listener may keep", async () => {
    h = createHarness();
    const events: { symbol: string; bars: readonly Bar[]; seen: string }[] = [];
    const off = h.sidecar.onBars(({ symbol, bars }) =>
      events.push({ symbol, bars, seen: JSON.stringify(bars) }),
    );
    const written: number[] = [];
    // A cycle in a new minute takes each symbol's closing bar (final) and its new forming one; a
    // cycle a second later only the forming bar again (the final one is known by then).
    for (const step of [0, 1_000, 59_000, 1_000, 59_000]) {
      h.clock.advance(step);
      written.push((await h.sidecar.runCycle()).barsWritten);
    }
    off();
    const m0 = alignTs(h.clock.now(), '1m') - 2 * 60_000;
    const shape = (symbol: string, ...bars: [number, boolean][]) => [symbol, bars];
    expect(events.map((e) => [e.symbol, e.bars.map((b) => [b.ts - m0, b.final])])).toEqual([
      shape('EURUSD', [-60_000, true], [0, false]),
      shape('XAUUSD', [-60_000, true], [0, false]),
      shape('EURUSD', [0, false]),
      shape('XAUUSD', [0, false]),
      shape('EURUSD', [0, true], [60_000, false]),
      shape('XAUUSD', [0, true], [60_000, false]),
      shape('EURUSD', [60_000, false]),
      shape('XAUUSD', [60_000, false]),
      shape('EURUSD', [60_000, true], [120_000, false]),
      shape('XAUUSD', [60_000, true], [120_000, false]),
    ]);
    expect(written).toEqual([4, 2, 4, 2, 4]);
    // Only its own symbol's bars; an array per event, left as it was handed over (the cycle's write
    // list it came from was trimmed and written since, and the next cycles had lists of their own).
    for (const e of events) {
      expect(e.bars.every((b) => b.symbol === e.symbol)).toBe(true);
      expect(JSON.stringify(e.bars)).toBe(e.seen);
    }
    expect(new Set(events.map((e) => e.bars)).size).toBe(events.length);
    // The bars published last are the bars stored.
    const stored = await h.sidecar.bars('XAUUSD', '1m', 10);
    expect(stored.bars.slice(-2)).toEqual(at(events, -1).bars);
    // The finaliser noted each symbol's range: every period but the forming one got its final bar.
    expect(h.sidecar.health().finalizer).toMatchObject({ pending: 2, oldestPendingTs: m0 + 120_000 });
  });

  it('lends onBarsRange listeners the bars onBars events carry, as a range of a list not to keep', async () => {
    h = createHarness();
    const events: { symbol: string; bars: readonly Bar[] }[] = [];
    const ranges: { symbol: string; bars: Bar[]; lists: Set<readonly Bar[]> }[] = [];
    const offBars = h.sidecar.onBars((e) => events.push(e));
    const listener = (symbol: string, list: readonly Bar[], from: number, to: number) => {
      expect(from).toBeLessThan(to);
      expect(to).toBeLessThanOrEqual(list.length);
      ranges.push({ symbol, bars: list.slice(from, to), lists: new Set([list]) });
    };
    const offRange = h.sidecar.onBarsRange(listener);
    // A second subscription of the same function is the same listener (called once per range).
    const offTwice = h.sidecar.onBarsRange(listener);
    for (const step of [0, 1_000, 59_000, 1_000]) {
      h.clock.advance(step);
      await h.sidecar.runCycle();
    }
    offTwice();
    h.clock.advance(59_000);
    await h.sidecar.runCycle();
    offRange();
    offBars();
    expect(ranges.map((r) => r.symbol)).toEqual(events.slice(0, 8).map((e) => e.symbol));
    for (const [i, r] of ranges.entries()) {
      const bars = at(events, i).bars;
      // The same bar objects, and onBars' array is its own (not the lent list).
      expect(r.bars).toHaveLength(bars.length);
      r.bars.forEach((b, k) => expect(b).toBe(bars[k]));
      expect(r.lists.has(bars)).toBe(false);
    }
    expect(events).toHaveLength(10);
  });

  it('gives the late finaliser’s final bars to onBarsRange listeners as onBars gets them', async () => {
    h = createHarness({ SYMBOLS: 'EURUSD' });
    await h.sidecar.start({ skipBootstrap: true, loop: false });
    const events: [string, Bar][] = [];
    const ranged: [string, Bar][] = [];
    const offBars = h.sidecar.onBars((e) => e.bars.forEach((b) => events.push([e.symbol, b])));
    const offRange = h.sidecar.onBarsRange((symbol, list, from, to) => {
      for (let i = from; i < to; i++) ranged.push([symbol, defined(list[i], 'a bar in range')]);
    });
    await h.sidecar.runCycle();
    const m = alignTs(h.clock.now(), '1m');
    // Two minutes on, the poll's answer no longer holds minute m: it stays forming until the
    // finaliser fetches it again (after its grace), on the kicks after the cycles.
    h.clock.advance(2 * 60_000 + 6_000);
    for (let i = 0; i < 3; i++) {
      await h.sidecar.runCycle();
      await settle();
      h.clock.advance(1_000);
    }
    offRange();
    offBars();
    expect(events.some(([, b]) => b.ts === m && b.final)).toBe(true);
    expect(ranged).toEqual(events);
    ranged.forEach(([, b], i) => expect(b).toBe(events[i]?.[1]));
  });

  it('falls back to the next source within the same cycle and skips an open breaker or spent budget', async () => {
    h = createHarness();
    const [yahoo, synthetic] = [at(h.fetchers, 0), at(h.fetchers, 1)];
    yahoo.mode = 'transient';
    const r = await h.sidecar.runCycle();
    expect(r).toMatchObject({ ok: 2, failed: 0 });
    expect(h.sidecar.symbolState('EURUSD')!.lastSource).toBe('synthetic');
    expect(h.sidecar.symbolState('EURUSD')!.lastAttempts.map((a) => a.outcome)).toEqual(['failed', 'ok']);
    // Breaker threshold is 5 consecutive failures: after that yahoo is skipped without a call.
    for (let i = 0; i < 3; i++) await h.sidecar.runCycle();
    const callsBefore = yahoo.calls;
    await h.sidecar.runCycle();
    expect(yahoo.calls).toBe(callsBefore);
    expect(h.sidecar.symbolState('EURUSD')!.lastAttempts.map((a) => a.outcome)).toEqual([
      'skipped_open',
      'ok',
    ]);
    expect(h.sidecar.health().sources[0]).toMatchObject({ name: 'yahoo', breaker: 'open' });
    // A spent rate budget is skipped the same way.
    synthetic.budgetLeft = 0;
    const r2 = await h.sidecar.runCycle();
    expect(r2.failed).toBe(2);
  });

  it('keeps the last bars readable and marks them stale when every source fails', async () => {
    h = createHarness({ STALE_AFTER: '10' });
    await h.sidecar.runCycle();
    for (const f of h.fetchers) f.mode = 'auth';
    h.clock.advance(5_000);
    await h.sidecar.runCycle();
    expect((await h.sidecar.bars('EURUSD', '1m', 10)).stale).toBe(false);
    // One bar: the indicators are not stable yet, so the signal is flat with no confidence.
    expect(h.sidecar.signal('EURUSD')).toMatchObject({
      direction: 'flat',
      confidence: 0,
      reasons: ['indicators not stable yet'],
    });
    h.clock.advance(6_000);
    await h.sidecar.runCycle();
    const b = await h.sidecar.bars('EURUSD', '1m', 10);
    expect(b.bars).toHaveLength(2);
    expect(b.stale).toBe(true);
    expect(b.ageMs).toBe(11_000);
    const health = h.sidecar.health();
    expect(health.symbols.every((s) => s.stale)).toBe(true);
    expect(health.status).toBe('down');
  });

  it('ages signals and lowers confidence when the data goes stale', async () => {
    h = createHarness();
    for (let i = 0; i < 40; i++) {
      await h.sidecar.runCycle();
      h.clock.advance(60_000);
    }
    const fresh = h.sidecar.signal('XAUUSD')!;
    for (const f of h.fetchers) f.mode = 'transient';
    h.clock.advance(30_000);
    await h.sidecar.runCycle();
    const aged = h.sidecar.signal('XAUUSD')!;
    expect(aged.ageMs).toBe(fresh.ageMs + 30_000);
    expect(aged.stale).toBe(true);
    if (fresh.rawConfidence > 0) expect(aged.confidence).toBeLessThan(fresh.confidence);
  });

  it('runs on its clock-driven loop and flushes everything to SQLite on stop', async () => {
    h = createHarness({ COLLECTION_INTERVAL: '1', BATCH_WRITE_INTERVAL: '3600' });
    await h.sidecar.start();
    for (let i = 0; i < 5; i++) {
      h.clock.advance(1000);
      await settle();
      await settle();
    }
    expect(h.sidecar.health().loop.cycles).toBeGreaterThanOrEqual(4);
    const pending = h.sidecar.health().storage.pendingWrites;
    expect(pending).toBeGreaterThan(0);
    await h.sidecar.stop();
    const store = createSqliteStore({ path: h.config.sqlitePath });
    try {
      const rows = store.latest('EURUSD', '1m', 10);
      const served = at(defined(at(h.fetchers, 0).served.get('EURUSD'), 'served EURUSD bars'), -1);
      expect(rows.at(-1)).toMatchObject({ ts: served.ts, close: served.close });
    } finally {
      await store.close();
    }
  });

  it('bootstraps missing history, resumes after a restart and goes live without a gap or duplicate', async () => {
    const start = Date.UTC(2024, 0, 3, 12, 0, 0);
    h = createHarness({ BOOTSTRAP_DAYS: '2', SYMBOLS: 'EURUSD' });
    const report = await h.sidecar.bootstrap();
    expect(report.failedChunks).toBe(0);
    expect(report.chunksPlanned).toBe(3); // two days plus the current partial day window
    const tf = TIMEFRAME_MS['1m'];
    const store = h.deps.store;
    expect(
      await store.gaps({
        symbol: 'EURUSD',
        timeframe: '1m',
        from: alignTs(start - 2 * 86_400_000, '1m'),
        to: alignTs(start, '1m'),
      }),
    ).toEqual([]);
    // A second run finds nothing to do: resumable and idempotent.
    const again = await h.sidecar.bootstrap();
    expect(again.chunksPlanned).toBe(0);
    await h.sidecar.start({ skipBootstrap: true });
    h.clock.advance(1000);
    await settle();
    await settle();
    const bars = await h.sidecar.bars('EURUSD', '1m', 600);
    const ts = bars.bars.map((b) => b.ts);
    for (let i = 1; i < ts.length; i++) expect(at(ts, i) - at(ts, i - 1)).toBe(tf);
  });
});
