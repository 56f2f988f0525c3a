import { ManualClock, alignTs, type Bar } from '@pipeline/core';
import { createSyntheticFetcher } from '@pipeline/fetchers';
import { createSqliteHistoryStore } from '@pipeline/sqlite-store';
import { type BarStorePort } from '../ports';
import { createBreakerFromConfig, createValidatorFromConfig } from '../wiring/wiring';
import { testConfig } from '../../test/harness';
import { runBootstrap, type BootstrapProgress } from './bootstrap';

const DAY = 86_400_000;

/**
 * A real SQLite store whose backfills are logged and counted; write `n` is held until the fetch of
 * chunk `n + 1` has happened (or `total` chunks were fetched, or 2 s passed), so a run that did not
 * fetch ahead while writing would stall here and the log would show it.
 */
function heldWriteStore(clock: ManualClock, total: number, failWrite?: (n: number) => boolean) {
  const store = createSqliteHistoryStore({ path: ':memory:', mode: 'inline', scheduler: clock });
  const log: string[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  let writes = 0;
  let fetches = 0;
  const onFetch = () => log.push(`fetch ${++fetches}`);
  const released = async (n: number) => {
    for (let waited = 0; fetches <= n && fetches < total && waited < 2000; waited++)
      await new Promise((r) => setTimeout(r, 1));
  };
  const wrapped: BarStorePort = Object.assign(Object.create(store) as BarStorePort, {
    async backfill(bars: readonly Bar[]) {
      const n = ++writes;
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      log.push(`write ${n} start`);
      try {
        await released(n);
        if (failWrite?.(n)) throw new Error(`write ${n} failed`);
        return await store.backfill(bars);
      } finally {
        inFlight--;
        log.push(`write ${n} end`);
      }
    },
  });
  return { store, wrapped, log, onFetch, stats: () => ({ maxInFlight, writes, fetches }) };
}

function setup(failWrite?: (n: number) => boolean) {
  const clock = new ManualClock(Date.UTC(2024, 0, 10, 12, 0, 0));
  const config = testConfig({ SQLITE_PATH: ':memory:' });
  const fetcher = createSyntheticFetcher({ clock });
  const fetched: string[] = [];
  const s = heldWriteStore(clock, 8, failWrite);
  const sources = [
    {
      name: 'synthetic' as const,
      fetcher: Object.assign(Object.create(fetcher) as typeof fetcher, {
        fetchHistory: (req: Parameters<typeof fetcher.fetchHistory>[0]) => {
          fetched.push(`${req.symbol} ${new Date(req.from).toISOString()}`);
          s.onFetch();
          return fetcher.fetchHistory(req);
        },
      }),
    },
  ];
  const breaker = createBreakerFromConfig(config, clock);
  const validator = createValidatorFromConfig(config, clock);
  const to = alignTs(clock.now(), '1m');
  const input = {
    symbols: ['BTCUSD', 'ETHUSD'],
    timeframe: '1m' as const,
    from: to - 3 * DAY,
    to,
    sources,
    breaker,
    store: s.wrapped,
    validator,
    now: () => clock.now(),
  };
  return {
    ...s,
    input,
    fetched,
    close: async () => {
      breaker.close();
      await s.store.close();
    },
  };
}

describe('runBootstrap', () => {
  it('fetches the next chunk while the previous one is written, writes one at a time, and settles them in plan order', async () => {
    const t = setup();
    try {
      const progress: BootstrapProgress[] = [];
      const report = await runBootstrap({ ...t.input, onProgress: (p) => progress.push(p) });
      // 3 days from a midday start touch 4 day windows per symbol.
      expect(report).toMatchObject({ chunksPlanned: 8, chunksDone: 8, failedChunks: 0 });
      expect(report.bars).toBe(2 * 3 * 1440);
      expect(t.stats()).toEqual({ maxInFlight: 1, writes: 8, fetches: 8 });
      // The second chunk was fetched while the first was being written.
      expect(t.log.indexOf('fetch 2')).toBeLessThan(t.log.indexOf('write 1 end'));
      expect(t.log.indexOf('write 2 start')).toBeGreaterThan(t.log.indexOf('write 1 end'));
      // Progress: one event per chunk, in plan order (each symbol's windows newest first), then done.
      expect(progress.map((p) => p.chunksDone)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 8]);
      expect(progress.slice(1, 9).map((p) => p.current)).toEqual([
        ...Array<string>(4).fill('BTCUSD'),
        ...Array<string>(4).fill('ETHUSD'),
      ]);
      expect(progress.at(-1)).toMatchObject({ done: true, current: null, bars: report.bars, fraction: 1 });
      expect(t.fetched.slice(0, 4)).toEqual([...t.fetched.slice(0, 4)].sort().reverse());
      for (const symbol of t.input.symbols)
        expect(await t.store.gaps({ symbol, timeframe: '1m', from: t.input.from, to: t.input.to })).toEqual(
          [],
        );
    } finally {
      await t.close();
    }
  });

  it('counts a failed write in its place and goes on with the rest', async () => {
    const t = setup((n) => n === 2);
    try {
      const errors: { symbol: string; from: number }[] = [];
      const progress: number[] = [];
      const report = await runBootstrap({
        ...t.input,
        onProgress: (p) => progress.push(p.failedChunks),
        onChunkError: (e) => errors.push({ symbol: e.symbol, from: e.from }),
      });
      expect(report).toMatchObject({ chunksPlanned: 8, chunksDone: 8, failedChunks: 1 });
      expect(report.bars).toBe(2 * 3 * 1440 - 1440);
      // The second chunk in plan order: BTCUSD's second-newest window, reported when its turn came.
      expect(errors).toEqual([{ symbol: 'BTCUSD', from: Date.UTC(2024, 0, 9) }]);
      expect(progress).toEqual([0, 0, 1, 1, 1, 1, 1, 1, 1, 1]);
      // What failed is still a gap, to be fetched by the next run; the rest is stored.
      const gaps = await t.store.gaps({
        symbol: 'BTCUSD',
        timeframe: '1m',
        from: t.input.from,
        to: t.input.to,
      });
      expect(gaps).toEqual([{ from: Date.UTC(2024, 0, 9), to: Date.UTC(2024, 0, 10), missing: 1440 }]);
    } finally {
      await t.close();
    }
  });

  it('a stop after two chunks leaves exactly those two written (a fetched chunk not yet written is dropped)', async () => {
    const t = setup();
    try {
      let stopped = false;
      const report = await runBootstrap({
        ...t.input,
        onProgress: (p) => {
          if (p.chunksDone === 2) stopped = true;
        },
        isCancelled: () => stopped,
      });
      expect(report).toMatchObject({ chunksPlanned: 8, chunksDone: 2, failedChunks: 0, bars: 1440 + 720 });
      expect(t.stats().writes).toBe(2);
      // BTCUSD's two newest windows are stored; the two older ones are still gaps for the next run.
      const gaps = await t.store.gaps({
        symbol: 'BTCUSD',
        timeframe: '1m',
        from: t.input.from,
        to: t.input.to,
      });
      expect(gaps).toEqual([{ from: t.input.from, to: Date.UTC(2024, 0, 9), missing: 720 + 1440 }]);
    } finally {
      await t.close();
    }
  });

  it('reports each symbol done once its last chunk is settled, in plan order, and none after a stop', async () => {
    const t = setup();
    try {
      const events: string[] = [];
      await runBootstrap({
        ...t.input,
        onProgress: (p) => events.push(`progress ${p.chunksDone}`),
        onSymbolDone: (symbol) => events.push(`done ${symbol}`),
      });
      expect(events.filter((e) => e.startsWith('done'))).toEqual(['done BTCUSD', 'done ETHUSD']);
      // Right after each symbol's fourth (last) chunk.
      expect(events.indexOf('done BTCUSD')).toBe(events.indexOf('progress 4') + 1);
      expect(events.indexOf('done ETHUSD')).toBe(events.indexOf('progress 8') + 1);
    } finally {
      await t.close();
    }
    const u = setup();
    try {
      const done: string[] = [];
      let stopped = false;
      await runBootstrap({
        ...u.input,
        onProgress: (p) => {
          if (p.chunksDone === 2) stopped = true;
        },
        isCancelled: () => stopped,
        onSymbolDone: (symbol) => done.push(symbol),
      });
      expect(done).toEqual([]);
    } finally {
      await u.close();
    }
  });

  it('hands each symbol its newest written bars (equal to the store read) unless a chunk of it failed', async () => {
    const t = setup((n) => n === 2);
    try {
      const handed = new Map<string, readonly Bar[] | undefined>();
      await runBootstrap({
        ...t.input,
        keepNewest: 2000,
        onSymbolDone: (symbol, history) => handed.set(symbol, history),
      });
      // BTCUSD's second chunk failed: no hand-over (its warm start reads the store).
      expect([...handed.keys()]).toEqual(['BTCUSD', 'ETHUSD']);
      expect(handed.get('BTCUSD')).toBeUndefined();
      const eth = handed.get('ETHUSD');
      expect(eth).toHaveLength(2000);
      expect(eth).toEqual(await t.store.latest('ETHUSD', '1m', 2000));
    } finally {
      await t.close();
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
      expect(handed.get('BTCUSD')).toHaveLength(3 * 1440);
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
});
