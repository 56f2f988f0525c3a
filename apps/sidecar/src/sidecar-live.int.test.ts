import { TIMEFRAME_MS, alignTs, type Bar } from '@pipeline/core';
import { cleanupTempDirs } from '@pipeline/test-utils';
import { createHarness, settle, type Harness } from '../test/harness';
import { createScriptedStream } from '../test/scripted-fetcher';
import { at } from '../test/at';

afterAll(() => cleanupTempDirs());
const MIN = TIMEFRAME_MS['1m'];

describe('sidecar: gaps, streaming, bad data, resumable bootstrap', () => {
  let h: Harness;
  afterEach(async () => {
    await h.sidecar.stop();
  });

  it('repairs a gap left by an outage in the background once a source answers again', async () => {
    h = createHarness({ SYMBOLS: 'EURUSD', SOURCES: 'yahoo' });
    await h.sidecar.start({ skipBootstrap: true, loop: false });
    await h.sidecar.runCycle();
    const before = h.sidecar.symbolState('EURUSD')!.lastBar!.ts;
    at(h.fetchers, 0).mode = 'transient';
    for (let i = 0; i < 5; i++) {
      h.clock.advance(MIN);
      await h.sidecar.runCycle();
    }
    at(h.fetchers, 0).mode = 'ok';
    // Past the breaker's open window (60 s after the 5th failure it lets a probe through).
    h.clock.advance(MIN);
    await h.sidecar.runCycle();
    for (let i = 0; i < 10; i++) await settle();
    await h.deps.store.flush();
    const now = alignTs(h.clock.now(), '1m');
    expect(
      await h.deps.store.gaps({ symbol: 'EURUSD', timeframe: '1m', from: before, to: now - MIN }),
    ).toEqual([]);
    expect(at(h.fetchers, 0).historyCalls.length).toBeGreaterThan(0);
  });

  it('uses a push stream while it delivers, keeps polling the forming bar, and notices silence within STALE_AFTER', async () => {
    const stream = createScriptedStream();
    h = createHarness({ SYMBOLS: 'EURUSD,XAUUSD', SOURCES: 'yahoo', STALE_AFTER: '10' }, { stream });
    await h.sidecar.start({ skipBootstrap: true, loop: false });
    expect(stream.subscribed).toEqual(['EURUSD', 'XAUUSD']);
    // The stream delivers the minute that just closed.
    const ts = alignTs(h.clock.now(), '1m') - MIN;
    const bar: Bar = {
      symbol: 'EURUSD',
      timeframe: '1m',
      ts,
      open: 1.1,
      high: 1.11,
      low: 1.09,
      close: 1.105,
      volume: 0,
      source: 'polygon',
      final: true,
      quality: 1,
    };
    stream.push(bar);
    expect(h.sidecar.symbolState('EURUSD')!.lastSource).toBe('polygon');
    // The stream delivers closed bars; the forming bar is polled alongside (within the budget).
    const r = await h.sidecar.runCycle();
    expect(r).toMatchObject({ streamed: 1, ok: 2 });
    expect(at(h.fetchers, 0).served.has('EURUSD')).toBe(true);
    // The next bar is due when the current minute closes; 10 s (STALE_AFTER) later the stream is silent.
    h.clock.set(ts + 2 * MIN + 9_000);
    expect(await h.sidecar.runCycle()).toMatchObject({ streamed: 1 });
    h.clock.set(ts + 2 * MIN + 11_000);
    expect(await h.sidecar.runCycle()).toMatchObject({ streamed: 0, ok: 2 });
    expect(h.sidecar.symbolState('EURUSD')!.lastSource).toBe('yahoo');
    // It delivers again: counted as streaming at once.
    stream.push({ ...bar, ts: ts + MIN });
    expect(await h.sidecar.runCycle()).toMatchObject({ streamed: 1 });
  });

  it('treats an answer without a current bar as a failure and asks the next source in the same cycle', async () => {
    h = createHarness({ SYMBOLS: 'EURUSD' });
    const yahoo = at(h.fetchers, 0);
    yahoo.fetchLatest = async () => [];
    const r = await h.sidecar.runCycle();
    expect(r).toMatchObject({ ok: 1, failed: 0 });
    const st = h.sidecar.symbolState('EURUSD')!;
    expect(st.lastSource).toBe('synthetic');
    expect(st.lastAttempts.map((a) => [a.source, a.outcome, a.code])).toEqual([
      ['yahoo', 'failed', 'SIDECAR_EMPTY_ANSWER'],
      ['synthetic', 'ok', undefined],
    ]);
  });

  it('rejects and counts bad market data without stopping the loop', async () => {
    h = createHarness({ SYMBOLS: 'EURUSD', SOURCES: 'yahoo' });
    await h.sidecar.runCycle();
    const f = at(h.fetchers, 0);
    const good = f.fetchLatest.bind(f);
    f.fetchLatest = async (req) => {
      const bars = await good(req);
      return bars.map((b) => ({ ...b, close: Number.NaN }));
    };
    h.clock.advance(MIN);
    const r = await h.sidecar.runCycle();
    expect(r.ok).toBe(1);
    expect(r.barsRejected).toBeGreaterThan(0);
    // Nothing usable arrived: the symbol's data age keeps growing.
    expect(at(h.sidecar.health().symbols, 0).ageMs).toBe(MIN);
    expect(await h.sidecar.metrics.text()).toMatch(
      /^pipeline_bars_rejected_total\{rule="nonFinite"\} [1-9]/m,
    );
  });

  it('replaces a forming bar left in the file by a crash with its final version at the next start', async () => {
    h = createHarness({ SYMBOLS: 'EURUSD', SOURCES: 'yahoo', BOOTSTRAP_DAYS: '1' });
    await h.sidecar.bootstrap();
    const ts = alignTs(h.clock.now(), '1m') - MIN;
    const stale: Bar = {
      symbol: 'EURUSD',
      timeframe: '1m',
      ts,
      open: 1,
      high: 1,
      low: 1,
      close: 1,
      volume: 0,
      source: 'yahoo',
      final: false,
      quality: 1,
    };
    await h.deps.store.backfill([stale]); // what a SIGKILL after a flush of the forming bar leaves
    h.clock.advance(2 * MIN);
    await h.sidecar.bootstrap();
    const row = at(
      await h.deps.store.range({ symbol: 'EURUSD', timeframe: '1m', from: ts, to: ts + MIN }),
      0,
    );
    expect(row.final).toBe(true);
    expect(row.close).not.toBe(1);
  });

  it('resumes an interrupted bootstrap without fetching again what is stored', async () => {
    // Each symbol's chunks (3 days + the current partial day = 4 windows) are written as one group.
    const env = { SYMBOLS: 'EURUSD,GBPUSD,USDJPY', SOURCES: 'yahoo', BOOTSTRAP_DAYS: '3' };
    h = createHarness(env);
    const sqlite = h.config.sqlitePath;
    let chunks = 0;
    const stopMidway = h.sidecar.onBootstrapProgress((p) => {
      chunks = p.chunksDone;
      if (p.chunksDone === 2) void h.sidecar.stop(); // a stop while EURUSD's group is being reported
    });
    await h.sidecar.start();
    stopMidway();
    // EURUSD's group is whole; GBPUSD's too if it was already with the store (two writes in
    // flight); USDJPY's was not handed over.
    expect([4, 8]).toContain(chunks);
    const clock = h.clock;
    h = createHarness({ ...env, SQLITE_PATH: sqlite }, {}, clock);
    const report = await h.sidecar.bootstrap();
    expect(report.chunksPlanned).toBe(12 - chunks); // what was reported done is stored
    expect(report.failedChunks).toBe(0);
    const from = alignTs(clock.now() - 3 * 86_400_000, '1m');
    for (const symbol of ['EURUSD', 'GBPUSD', 'USDJPY'])
      expect(
        await h.deps.store.gaps({ symbol, timeframe: '1m', from, to: alignTs(clock.now(), '1m') }, 'fx'),
      ).toEqual([]);
  });
});
