import { performance } from 'node:perf_hooks';
import { ManualClock, alignTs, type Bar } from '@pipeline/core';
import { createSyntheticFetcher } from '@pipeline/fetchers';
import { createSqliteHistoryStore } from '@pipeline/sqlite-store';
import { type BarStorePort } from '../ports';
import { createBreakerFromConfig, createValidatorFromConfig } from '../wiring/wiring';
import { testConfig } from '../../test/harness';
import { runBootstrap, type BootstrapProgress } from './bootstrap';
import { SLICE_MS } from './slice';

const DAY = 86_400_000;

/** One write as the store got it. */
interface WriteSeen {
  symbols: string[];
  rows: number;
  /** Bars strictly oldest first. */
  ascending: boolean;
}

/**
 * A real SQLite store whose backfills are logged; write `n` is held until write `n + 1` was handed
 * over (or every chunk was fetched, or 2 s passed), so a run that did not hand the next group over
 * while one is being written would stall here and the log would show it. Held writes reach the
 * file one after the other in the order given, as on SQLite's writer thread.
 */
function heldWriteStore(clock: ManualClock, total: number, failWrite?: (n: number) => boolean) {
  const store = createSqliteHistoryStore({ path: ':memory:', mode: 'inline', scheduler: clock });
  const log: string[] = [];
  const writes: WriteSeen[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  let fetches = 0;
  let inOrder: Promise<unknown> = Promise.resolve();
  let releaseAll = false;
  const onFetch = () => log.push(`fetch ${++fetches}`);
  const released = async (n: number) => {
    for (let waited = 0; !releaseAll && writes.length <= n && fetches < total && waited < 2000; waited++)
      await new Promise((r) => setTimeout(r, 1));
  };
  const wrapped: BarStorePort = Object.assign(Object.create(store) as BarStorePort, {
    backfill(bars: readonly Bar[]) {
      const n = writes.length + 1;
      writes.push({
        symbols: [...new Set(bars.map((b) => b.symbol))],
        rows: bars.length,
        ascending: bars.every((b, i) => i === 0 || (bars[i - 1]?.ts ?? Infinity) < b.ts),
      });
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      log.push(`write ${n} start`);
      const previous = inOrder;
      const done = (async () => {
        try {
          await released(n);
          await previous.catch(() => undefined);
          if (failWrite?.(n)) throw new Error(`write ${n} failed`);
          return await store.backfill(bars);
        } finally {
          inFlight--;
          log.push(`write ${n} end`);
        }
      })();
      inOrder = done;
      return done;
    },
  });
  return {
    store,
    wrapped,
    log,
    onFetch,
    writes,
    releaseAll: () => {
      releaseAll = true;
    },
    stats: () => ({ maxInFlight, writes: writes.length, fetches }),
  };
}

const SYMBOLS = ['BTCUSD', 'ETHUSD', 'SOLUSD'];

function setup(
  options: { failWrite?: (n: number) => boolean; failFetch?: (symbol: string, from: number) => boolean } = {},
) {
  const clock = new ManualClock(Date.UTC(2024, 0, 10, 12, 0, 0));
  const config = testConfig({ SQLITE_PATH: ':memory:' });
  const fetcher = createSyntheticFetcher({ clock });
  const fetched: string[] = [];
  // 3 days from a midday start touch 4 day windows per symbol.
  const s = heldWriteStore(clock, 4 * SYMBOLS.length, options.failWrite);
  const sources = [
    {
      name: 'synthetic' as const,
      fetcher: Object.assign(Object.create(fetcher) as typeof fetcher, {
        fetchHistory: (req: Parameters<typeof fetcher.fetchHistory>[0]) => {
          fetched.push(`${req.symbol} ${new Date(req.from).toISOString()}`);
          s.onFetch();
          if (options.failFetch?.(req.symbol, req.from)) return Promise.reject(new Error('no answer'));
          return fetcher.fetchHistory(req);
        },
      }),
    },
  ];
  const breaker = createBreakerFromConfig(config, clock);
  const validator = createValidatorFromConfig(config, clock);
  const to = alignTs(clock.now(), '1m');
  const input = {
    symbols: SYMBOLS,
    timeframe: '1m' as const,
    from: to - 3 * DAY,
    to,
    sources,
    breaker,
    store: s.wrapped,
    validator,
    now: () => clock.now(),
  };
  const gapsOf = (symbol: string) =>
    s.store.gaps({ symbol, timeframe: '1m', from: input.from, to: input.to });
  return {
    ...s,
    input,
    fetched,
    gapsOf,
    close: async () => {
      breaker.close();
      await s.store.close();
    },
  };
}

/** Bars of one symbol over the 3 days. */
const ALL = 3 * 1440;

describe('runBootstrap', () => {
  it("fetches each symbol's chunks newest first, writes them as one group oldest bar first, hands the next group over while one is written, settles in plan order", async () => {
    const t = setup();
    try {
      const progress: BootstrapProgress[] = [];
      const report = await runBootstrap({ ...t.input, onProgress: (p) => progress.push(p) });
      expect(report).toMatchObject({ chunksPlanned: 12, chunksDone: 12, failedChunks: 0, bars: 3 * ALL });
      // One write per symbol (its 4 chunks), at most two with the store at once.
      expect(t.stats()).toEqual({ maxInFlight: 2, writes: 3, fetches: 12 });
      expect(t.writes).toEqual(SYMBOLS.map((symbol) => ({ symbols: [symbol], rows: ALL, ascending: true })));
      // The second group was fetched and handed over while the first was being written.
      expect(t.log.indexOf('fetch 8')).toBeLessThan(t.log.indexOf('write 1 end'));
      expect(t.log.indexOf('write 2 start')).toBeLessThan(t.log.indexOf('write 1 end'));
      expect(t.log.indexOf('write 1 end')).toBeLessThan(t.log.indexOf('write 2 end'));
      // Fetched newest first within a symbol.
      expect(t.fetched.slice(0, 4)).toEqual([...t.fetched.slice(0, 4)].sort().reverse());
      // Progress: one event per chunk, in plan order, each once its group is written; then done.
      expect(progress.map((p) => p.chunksDone)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 12]);
      expect(progress.slice(1, 13).map((p) => p.current)).toEqual(
        SYMBOLS.flatMap((x) => Array<string>(4).fill(x)),
      );
      expect(progress.at(-1)).toMatchObject({ done: true, current: null, bars: report.bars, fraction: 1 });
      for (const symbol of SYMBOLS) expect(await t.gapsOf(symbol)).toEqual([]);
    } finally {
      await t.close();
    }
  });

  it('a long history is written in several groups, the newest first, each oldest bar first', async () => {
    const t = setup();
    try {
      t.releaseAll(); // one symbol: its second write has no third to wait for
      // Two groups per symbol: [Jan 9, Jan 10 12:00) (2,160 bars), then [Jan 7 12:00, Jan 9).
      const report = await runBootstrap({ ...t.input, symbols: ['BTCUSD'], groupBars: 2 * 1440 });
      expect(report).toMatchObject({ chunksDone: 4, failedChunks: 0, bars: ALL });
      expect(t.writes).toEqual([
        { symbols: ['BTCUSD'], rows: 720 + 1440, ascending: true },
        { symbols: ['BTCUSD'], rows: 1440 + 720, ascending: true },
      ]);
      expect(await t.gapsOf('BTCUSD')).toEqual([]);
    } finally {
      await t.close();
    }
  });

  it('a chunk no source delivers is counted in its place; the rest of its group is written', async () => {
    const t = setup({ failFetch: (symbol, from) => symbol === 'BTCUSD' && from === Date.UTC(2024, 0, 9) });
    try {
      const errors: { symbol: string; from: number }[] = [];
      const report = await runBootstrap({
        ...t.input,
        onChunkError: (e) => errors.push({ symbol: e.symbol, from: e.from }),
      });
      expect(report).toMatchObject({
        chunksPlanned: 12,
        chunksDone: 12,
        failedChunks: 1,
        bars: 3 * ALL - 1440,
      });
      expect(errors).toEqual([{ symbol: 'BTCUSD', from: Date.UTC(2024, 0, 9) }]);
      expect(t.writes[0]).toEqual({ symbols: ['BTCUSD'], rows: ALL - 1440, ascending: true });
      // What failed is still a gap, to be fetched by the next run; the rest is stored.
      expect(await t.gapsOf('BTCUSD')).toEqual([
        { from: Date.UTC(2024, 0, 9), to: Date.UTC(2024, 0, 10), missing: 1440 },
      ]);
      expect(await t.gapsOf('ETHUSD')).toEqual([]);
    } finally {
      await t.close();
    }
  });

  it('a failed group write fails each of its chunks in their place; nothing of it is stored, the rest goes on', async () => {
    const t = setup({ failWrite: (n) => n === 2 });
    try {
      const errors: { symbol: string; from: number }[] = [];
      const progress: number[] = [];
      const report = await runBootstrap({
        ...t.input,
        onProgress: (p) => progress.push(p.failedChunks),
        onChunkError: (e) => errors.push({ symbol: e.symbol, from: e.from }),
      });
      expect(report).toMatchObject({ chunksPlanned: 12, chunksDone: 12, failedChunks: 4, bars: 2 * ALL });
      // ETHUSD's group, its chunks in plan order (newest first), reported when its turn came.
      expect(errors).toEqual(
        [Date.UTC(2024, 0, 10), Date.UTC(2024, 0, 9), Date.UTC(2024, 0, 8), t.input.from].map((from) => ({
          symbol: 'ETHUSD',
          from,
        })),
      );
      expect(progress).toEqual([0, 0, 0, 0, 0, 1, 2, 3, 4, 4, 4, 4, 4, 4]);
      expect(await t.gapsOf('ETHUSD')).toEqual([{ from: t.input.from, to: t.input.to, missing: ALL }]);
      expect(await t.gapsOf('BTCUSD')).toEqual([]);
      expect(await t.gapsOf('SOLUSD')).toEqual([]);
    } finally {
      await t.close();
    }
  });

  it('a stop leaves whole groups, exactly the chunks reported done; a group not yet handed over is dropped; a restart completes it', async () => {
    const t = setup();
    try {
      let stopped = false;
      const done: string[] = [];
      const report = await runBootstrap({
        ...t.input,
        onProgress: (p) => {
          if (p.chunksDone !== 2) return;
          stopped = true;
          t.releaseAll();
        },
        isCancelled: () => stopped,
        onSymbolDone: (symbol) => done.push(symbol),
      });
      // BTCUSD's group was written; ETHUSD's was with the store already (two in flight), so it is
      // written and reported too; SOLUSD's, being fetched, was not handed over.
      expect(report).toMatchObject({ chunksPlanned: 12, chunksDone: 8, failedChunks: 0, bars: 2 * ALL });
      expect(t.stats().writes).toBe(2);
      expect(done).toEqual(['BTCUSD', 'ETHUSD']);
      expect(await t.gapsOf('BTCUSD')).toEqual([]);
      expect(await t.gapsOf('ETHUSD')).toEqual([]);
      expect(await t.gapsOf('SOLUSD')).toEqual([{ from: t.input.from, to: t.input.to, missing: ALL }]);
      // A restart plans only what is missing and leaves no gap.
      const again = await runBootstrap(t.input);
      expect(again).toMatchObject({ chunksPlanned: 4, chunksDone: 4, failedChunks: 0, bars: ALL });
      for (const symbol of SYMBOLS) expect(await t.gapsOf(symbol)).toEqual([]);
    } finally {
      await t.close();
    }
  });

  it('a restart completes whatever subset of groups an earlier run left (an older group stored, a newer one not)', async () => {
    // As PostgreSQL may leave it after a crash (two transactions in flight commit in either order).
    const t = setup({ failWrite: (n) => n === 1 });
    try {
      t.releaseAll();
      const first = await runBootstrap({ ...t.input, symbols: ['BTCUSD'], groupBars: 2 * 1440 });
      expect(first).toMatchObject({ chunksDone: 4, failedChunks: 2, bars: 1440 + 720 });
      expect(await t.gapsOf('BTCUSD')).toEqual([
        { from: Date.UTC(2024, 0, 9), to: t.input.to, missing: 1440 + 720 },
      ]);
      const again = await runBootstrap({ ...t.input, symbols: ['BTCUSD'], groupBars: 2 * 1440 });
      expect(again).toMatchObject({ chunksPlanned: 2, chunksDone: 2, failedChunks: 0, bars: 720 + 1440 });
      expect(await t.gapsOf('BTCUSD')).toEqual([]);
    } finally {
      await t.close();
    }
  });

  it('reports each symbol done once its last group is settled, right after its chunks, in plan order', async () => {
    const t = setup();
    try {
      const events: string[] = [];
      await runBootstrap({
        ...t.input,
        groupBars: 2 * 1440,
        onProgress: (p) => events.push(`progress ${p.chunksDone}`),
        onSymbolDone: (symbol) => events.push(`done ${symbol}`),
      });
      expect(events.filter((e) => e.startsWith('done'))).toEqual(SYMBOLS.map((s) => `done ${s}`));
      // Right after each symbol's fourth (last) chunk, written in its second group.
      expect(events.indexOf('done BTCUSD')).toBe(events.indexOf('progress 4') + 1);
      expect(events.indexOf('done ETHUSD')).toBe(events.indexOf('progress 8') + 1);
      expect(events.indexOf('done SOLUSD')).toBe(events.indexOf('progress 12') + 1);
    } finally {
      await t.close();
    }
  });

  it('hands each symbol its newest written bars (equal to the store read) unless a chunk of it failed', async () => {
    for (const groupBars of [undefined, 2 * 1440, 1]) {
      const t = setup({ failWrite: (n) => n === (groupBars === undefined ? 2 : 3) });
      try {
        const handed = new Map<string, readonly Bar[] | undefined>();
        await runBootstrap({
          ...t.input,
          ...(groupBars ? { groupBars } : {}),
          keepNewest: 2000,
          onSymbolDone: (symbol, history) => handed.set(symbol, history),
        });
        expect([...handed.keys()]).toEqual(SYMBOLS);
        // One symbol's write failed: no hand-over (its warm start reads the store).
        const failed = groupBars === 1 ? 'BTCUSD' : 'ETHUSD';
        expect(handed.get(failed)).toBeUndefined();
        for (const symbol of SYMBOLS.filter((x) => x !== failed)) {
          expect(handed.get(symbol)).toHaveLength(2000);
          expect(handed.get(symbol)).toEqual(await t.store.latest(symbol, '1m', 2000));
        }
      } finally {
        await t.close();
      }
    }
    const u = setup();
    try {
      const handed = new Map<string, readonly Bar[] | undefined>();
      await runBootstrap({
        ...u.input,
        keepNewest: 10_000,
        onSymbolDone: (symbol, history) => handed.set(symbol, history),
      });
      // Fewer written than kept: every stored bar, as the store read gives them.
      expect(handed.get('BTCUSD')).toHaveLength(ALL);
      expect(handed.get('BTCUSD')).toEqual(await u.store.latest('BTCUSD', '1m', 10_000));
    } finally {
      await u.close();
    }
  });

  it('hands the event loop back every few ms while planning and fetching, even from a synchronous store', async () => {
    const clock = new ManualClock(Date.UTC(2024, 0, 10, 12, 0, 0));
    const config = testConfig({ SQLITE_PATH: ':memory:' });
    const store = createSqliteHistoryStore({ path: ':memory:', mode: 'inline', scheduler: clock });
    const breaker = createBreakerFromConfig(config, clock);
    const to = alignTs(clock.now(), '1m');
    const symbols = Array.from({ length: 60 }, (_, i) => `SYM${i}`);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    try {
      // Every await below resolves at once (in-process store and source): without the slicing no
      // timer could run until the whole bootstrap is over.
      const report = await runBootstrap({
        symbols,
        timeframe: '1m',
        from: to - DAY / 2,
        to,
        sources: [{ name: 'synthetic', fetcher: createSyntheticFetcher({ clock }) }],
        breaker,
        store,
        validator: createValidatorFromConfig(config, clock),
        now: () => clock.now(),
      });
      expect(report.bars).toBe(60 * 720);
      expect(ticks).toBeGreaterThan(3);
    } finally {
      clearInterval(timer);
      breaker.close();
      await store.close();
    }
  });
  it("gives the loop back (its timers run) before the next hand-over once a symbol's hand-over held it a slice", async () => {
    const clock = new ManualClock(Date.UTC(2024, 0, 10, 12, 0, 0));
    const config = testConfig({ SQLITE_PATH: ':memory:' });
    const store = createSqliteHistoryStore({ path: ':memory:', mode: 'inline', scheduler: clock });
    const breaker = createBreakerFromConfig(config, clock);
    const to = alignTs(clock.now(), '1m');
    // Each symbol's hand-over (its warm start, in the service) holds the loop longer than a slice,
    // a timer falling due meanwhile: the next group's write and the next hand-over come after it ran.
    // The writes settle from a later callback (as the writer thread's replies do), one at a time:
    // the next group, fetched meanwhile, is handed over from the callback that settled the last.
    let timerRan = true;
    const seen: string[] = [];
    const wrapped: BarStorePort = Object.assign(Object.create(store) as BarStorePort, {
      backfill(bars: readonly Bar[]) {
        seen.push(`write ${timerRan}`);
        const copy = [...bars];
        return new Promise((resolve) => setTimeout(resolve, 2)).then(() => store.backfill(copy));
      },
    });
    try {
      const report = await runBootstrap({
        symbols: ['SYM0', 'SYM1', 'SYM2', 'SYM3', 'SYM4'],
        timeframe: '1m',
        from: to - DAY,
        to,
        sources: [{ name: 'synthetic', fetcher: createSyntheticFetcher({ clock }) }],
        breaker,
        store: wrapped,
        validator: createValidatorFromConfig(config, clock),
        now: () => clock.now(),
        writesInFlight: 1,
        onSymbolDone: () => {
          seen.push(`done ${timerRan}`);
          timerRan = false;
          setTimeout(() => (timerRan = true), 0);
          const end = performance.now() + SLICE_MS + 2;
          while (performance.now() < end);
        },
      });
      expect(report.bars).toBe(5 * 1440);
      expect(seen.filter((s) => s.startsWith('done'))).toHaveLength(5);
      expect(seen.filter((s) => s.startsWith('write'))).toHaveLength(5); // one group each
      expect(seen.filter((s) => s.endsWith('false'))).toEqual([]);
    } finally {
      breaker.close();
      await store.close();
    }
  });
});
