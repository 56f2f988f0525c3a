import { performance } from 'node:perf_hooks';
import { alignTs, type Bar } from '@pipeline/core';
import { createSyntheticFetcher } from '@pipeline/fetchers';
import { flatBars, stageFixture } from './stage-fixtures';
import { runBootstrap } from './bootstrap';
import { createFinalizer, FINALIZE_SCAN_BARS } from './finalizer';
import { SLICE_MS } from './slice';
import { createWarmer, warmStart, WARM_BARS } from './warm';

const MIN = 60_000;

describe('warm start', () => {
  it('feeds the newest stored bars to the indicators, sets the last bar and fills the cache', async () => {
    const f = stageFixture();
    try {
      const t0 = Date.UTC(2024, 0, 2);
      const history: Bar[] = Array.from({ length: WARM_BARS + 100 }, (_, i) => ({
        symbol: 'EURUSD',
        timeframe: '1m',
        ts: t0 + i * MIN,
        open: 1.1,
        high: 1.2,
        low: 1,
        close: 1.1 + (i % 7) * 0.001,
        volume: 0,
        source: 'synthetic',
        final: true,
        quality: 1,
      }));
      await f.store.backfill(history);
      await warmStart({ ...f, symbols: f.config.symbols, timeframe: '1m' });
      expect(f.states.get('EURUSD').lastBar?.ts).toBe(history.at(-1)!.ts);
      expect(f.states.get('XAUUSD').lastBar).toBeNull();
      expect(f.features.latest('EURUSD')?.macd_hist).toEqual(expect.any(Number));
      expect(await f.cache.latestBars('EURUSD', '1m', 10_000)).toHaveLength(WARM_BARS + 100);
    } finally {
      await f.close();
    }
  });

  it('reads each symbol once for the indicators and the cache fill', async () => {
    const f = stageFixture();
    try {
      const t0 = Date.UTC(2024, 0, 2);
      await f.store.backfill([...flatBars(t0, 800), ...flatBars(t0, 300, 'XAUUSD')]);
      const reads: string[] = [];
      const store = {
        latest: (symbol: string, timeframe: '1m', limit?: number) => {
          reads.push(`${symbol} ${limit}`);
          return f.store.latest(symbol, timeframe, limit);
        },
      };
      await warmStart({ ...f, store, symbols: f.config.symbols, timeframe: '1m' });
      expect(reads.sort()).toEqual(
        f.config.symbols.map((s) => `${s} ${Math.max(f.config.maxBarsCache, WARM_BARS)}`).sort(),
      );
      expect(f.states.get('EURUSD').lastBar?.ts).toBe(t0 + 799 * MIN);
      expect(f.states.get('XAUUSD').lastBar?.ts).toBe(t0 + 299 * MIN);
      expect(await f.cache.latestBars('EURUSD', '1m', 10_000)).toHaveLength(800);
    } finally {
      await f.close();
    }
  });

  it('still warms every symbol when the cache fill fails (and the cache is marked for a refill)', async () => {
    const f = stageFixture();
    try {
      const t0 = Date.UTC(2024, 0, 2);
      await f.store.backfill([...flatBars(t0, 600), ...flatBars(t0, 600, 'XAUUSD')]);
      f.cache.down = true;
      await warmStart({ ...f, symbols: f.config.symbols, timeframe: '1m' });
      expect(f.states.get('EURUSD').lastBar?.ts).toBe(t0 + 599 * MIN);
      expect(f.states.get('XAUUSD').lastBar?.ts).toBe(t0 + 599 * MIN);
      expect(f.features.latest('XAUUSD')?.macd_hist).toEqual(expect.any(Number));
      expect(f.log.text()).toMatch(/filling the hot cache from SQLite failed/);
    } finally {
      await f.close();
    }
  });

  it('with a finalizer, queues the finished periods still stored as forming from the same single read', async () => {
    const f = stageFixture();
    try {
      const now = alignTs(f.clock.now(), '1m');
      // 1,200 stored minutes up to the last closed one; three left forming (a crash), one of them
      // older than the newest FINALIZE_SCAN_BARS, which the scan leaves alone as before.
      const rows = flatBars(now - 1200 * MIN, 1200).map((b, i) =>
        [10, 600, 1199].includes(i) || i === 1200 - FINALIZE_SCAN_BARS - 1 ? { ...b, final: false } : b,
      );
      await f.store.backfill(rows);
      const reads: string[] = [];
      const store = {
        latest: (symbol: string, timeframe: '1m', limit?: number) => {
          reads.push(symbol);
          return f.store.latest(symbol, timeframe, limit);
        },
      };
      const finalizer = createFinalizer({
        timeframe: '1m',
        sources: f.sources,
        breaker: f.breaker,
        validator: f.validator,
        store: f.store,
        write: (bars) => f.sinks.writeBars(bars),
        now: () => f.clock.now(),
        log: f.log,
      });
      await warmStart({ ...f, store, symbols: f.config.symbols, timeframe: '1m', finalizer });
      expect(reads.sort()).toEqual([...f.config.symbols].sort());
      expect(finalizer.pending).toBe(2);
      // The same as the scan of the store it replaces.
      const scanned = createFinalizer({
        timeframe: '1m',
        sources: f.sources,
        breaker: f.breaker,
        validator: f.validator,
        store: f.store,
        write: async () => undefined,
        now: () => f.clock.now(),
        log: f.log,
      });
      expect(await scanned.scanStore(f.config.symbols)).toBe(2);
    } finally {
      await f.close();
    }
  });

  it('a warmer warms a symbol in the background once its history is ready, the others at finish, each read once', async () => {
    const f = stageFixture();
    try {
      const t0 = Date.UTC(2024, 0, 2);
      await f.store.backfill([...flatBars(t0, 700), ...flatBars(t0, 650, 'XAUUSD')]);
      const reads: string[] = [];
      const store = {
        latest: (symbol: string, timeframe: '1m', limit?: number) => {
          reads.push(symbol);
          return f.store.latest(symbol, timeframe, limit);
        },
      };
      const warmer = createWarmer({ ...f, store, symbols: f.config.symbols, timeframe: '1m' });
      warmer.symbolReady('XAUUSD');
      await warmer.idle();
      // Warmed and cached before the finish; EURUSD not yet.
      expect(f.states.get('XAUUSD').lastBar?.ts).toBe(t0 + 649 * MIN);
      expect(await f.cache.latestBars('XAUUSD', '1m', 10_000)).toHaveLength(650);
      expect(f.states.get('EURUSD').lastBar).toBeNull();
      await warmer.finish();
      expect(f.states.get('EURUSD').lastBar?.ts).toBe(t0 + 699 * MIN);
      expect(await f.cache.latestBars('EURUSD', '1m', 10_000)).toHaveLength(700);
      expect(reads).toEqual(['XAUUSD', 'EURUSD']);
    } finally {
      await f.close();
    }
  });

  it('symbols warmed in the background one after the other give the loop back (its timers run) between them', async () => {
    const f = stageFixture();
    try {
      const t0 = Date.UTC(2024, 0, 2);
      await f.store.backfill([...flatBars(t0, 600), ...flatBars(t0, 600, 'XAUUSD')]);
      // Each symbol's indicators hold the loop longer than a slice, a timer falling due meanwhile.
      let timerRan = true;
      const seen: string[] = [];
      let last = '';
      const features = {
        update: (bar: Bar) => {
          if (bar.symbol !== last) {
            last = bar.symbol;
            seen.push(`${bar.symbol} ${timerRan}`);
            timerRan = false;
            setTimeout(() => (timerRan = true), 0);
            const end = performance.now() + SLICE_MS + 2;
            while (performance.now() < end);
          }
          return f.features.update(bar);
        },
      };
      const warmer = createWarmer({ ...f, features, symbols: f.config.symbols, timeframe: '1m' });
      // Both ready at once (two groups' writes settled in one callback): warmed one after the other.
      warmer.symbolReady('EURUSD');
      warmer.symbolReady('XAUUSD');
      await warmer.idle();
      expect(seen).toEqual(['EURUSD true', 'XAUUSD true']);
      expect(f.states.get('XAUUSD').lastBar?.ts).toBe(t0 + 599 * MIN);
      expect(await f.cache.latestBars('XAUUSD', '1m', 10_000)).toHaveLength(600);
    } finally {
      await f.close();
    }
  });

  it('a cancelled warmer leaves a ready symbol to the finish', async () => {
    const f = stageFixture();
    try {
      await f.store.backfill(flatBars(Date.UTC(2024, 0, 2), 600, 'XAUUSD'));
      let cancelled = true;
      const warmer = createWarmer({
        ...f,
        symbols: f.config.symbols,
        timeframe: '1m',
        isCancelled: () => cancelled,
      });
      warmer.symbolReady('XAUUSD');
      await warmer.idle();
      expect(f.states.get('XAUUSD').lastBar).toBeNull();
      cancelled = false;
      await warmer.finish();
      expect(f.states.get('XAUUSD').lastBar).not.toBeNull();
    } finally {
      await f.close();
    }
  });

  // Two identical fixtures bootstrap the same synthetic history (some bars left forming, one symbol
  // with rows stored before); one warms from the bars the bootstrap hands over, the other reads the
  // store back as before. Indicators, last bars, cache contents and the finaliser's scan must agree.
  async function bootstrapAndWarm(maxBarsCache: number, handOver: boolean) {
    const f = stageFixture({ SYMBOLS: 'BTCUSD,ETHUSD,SOLUSD', MAX_BARS_CACHE: String(maxBarsCache) });
    const to = alignTs(f.clock.now(), '1m');
    const from = to - 3 * 86_400_000;
    // SOLUSD had its oldest day stored already (a resumed bootstrap): it must be read back.
    const synthetic = createSyntheticFetcher({ clock: f.clock });
    const resumed = await synthetic.fetchHistory({
      symbol: 'SOLUSD',
      timeframe: '1m',
      from,
      to: from + 86_400_000,
    });
    await f.store.backfill(resumed.map((b) => ({ ...b, quality: 1 })));
    const fetcher = Object.assign(Object.create(synthetic) as typeof synthetic, {
      fetchHistory: async (req: Parameters<typeof synthetic.fetchHistory>[0]) =>
        (await synthetic.fetchHistory(req)).map((b) =>
          b.ts % (97 * MIN) === 0 ? { ...b, final: false } : b,
        ),
    });
    const reads: string[] = [];
    const store = {
      latest: (symbol: string, timeframe: '1m', limit?: number) => {
        reads.push(symbol);
        return f.store.latest(symbol, timeframe, limit);
      },
    };
    const scans: string[] = [];
    const finalizer = createFinalizer({
      timeframe: '1m',
      sources: f.sources,
      breaker: f.breaker,
      validator: f.validator,
      store: f.store,
      write: async () => undefined,
      now: () => f.clock.now(),
      log: f.log,
    });
    const warmer = createWarmer({
      ...f,
      store,
      symbols: f.config.symbols,
      timeframe: '1m',
      cacheBars: f.config.maxBarsCache,
      finalizer: {
        scanBars: (symbol, bars) => {
          scans.push(`${symbol} ${bars.map((b) => b.ts).join(',')}`);
          return finalizer.scanBars(symbol, bars);
        },
      },
    });
    const handed = new Map<string, number>();
    const checks: Promise<void>[] = [];
    await runBootstrap({
      symbols: f.config.symbols,
      timeframe: '1m',
      from,
      to,
      sources: [{ name: 'synthetic', fetcher }],
      breaker: f.breaker,
      store: f.store,
      validator: f.validator,
      now: () => f.clock.now(),
      keepNewest: handOver ? warmer.keepBars : 0,
      onSymbolDone: (symbol, history) => {
        if (history) handed.set(symbol, history.length);
        // What is handed over is what the store read would give.
        if (history)
          checks.push(
            f.store.latest(symbol, '1m', warmer.keepBars).then((stored) => expect(history).toEqual(stored)),
          );
        warmer.symbolReady(symbol, history);
      },
    });
    await warmer.finish();
    await Promise.all(checks);
    const out = {
      reads,
      handed,
      scans,
      pending: finalizer.pending,
      lastBars: f.config.symbols.map((s) => f.states.get(s).lastBar),
      features: f.config.symbols.map((s) => f.features.latest(s)),
      cache: await Promise.all(f.config.symbols.map((s) => f.cache.latestBars(s, '1m', 100_000))),
      log: f.log.text(),
    };
    await f.close();
    return out;
  }

  it.each([
    ['every bootstrapped bar fits the cache', 6000],
    ['the cache takes the newest of them', 2000],
  ])('warming from the bootstrap hand-over equals reading the store back (%s)', async (_, maxBarsCache) => {
    const read = await bootstrapAndWarm(maxBarsCache, false);
    const handed = await bootstrapAndWarm(maxBarsCache, true);
    // BTCUSD and ETHUSD were empty before: handed over, never read; SOLUSD was resumed: read.
    expect([...handed.handed.keys()]).toEqual(['BTCUSD', 'ETHUSD']);
    expect(handed.handed.get('BTCUSD')).toBe(Math.min(3 * 1440, Math.max(maxBarsCache, FINALIZE_SCAN_BARS)));
    expect(handed.reads).toEqual(['SOLUSD']);
    expect(read.reads).toEqual(['BTCUSD', 'ETHUSD', 'SOLUSD']);
    expect(read.handed.size).toBe(0);
    // Same indicators, last bars, cache contents and finaliser queue.
    expect(handed.lastBars).toEqual(read.lastBars);
    expect(handed.lastBars.every((b) => b !== null)).toBe(true);
    expect(handed.features).toEqual(read.features);
    expect(handed.features[0]?.macd_hist).toEqual(expect.any(Number));
    expect(handed.cache).toEqual(read.cache);
    expect(handed.cache.map((c) => c.length)).toEqual([
      Math.min(maxBarsCache, 3 * 1440),
      Math.min(maxBarsCache, 3 * 1440),
      Math.min(maxBarsCache, 3 * 1440),
    ]);
    expect(handed.scans).toEqual(read.scans);
    expect(handed.pending).toBe(read.pending);
    expect(handed.pending).toBeGreaterThan(0);
    expect(handed.log).not.toMatch(/failed/);
  });
});
