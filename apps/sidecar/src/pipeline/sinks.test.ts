import { performance } from 'node:perf_hooks';
import { type Bar } from '@pipeline/core';
import { createMemoryHotCache } from '@pipeline/redis-kb';
import { createSinks } from './sinks';
import { SLICE_MS } from './slice';
import { flatBars as bars, stageFixture } from './stage-fixtures';

const MIN = 60_000;

describe('sinks', () => {
  it('writes bars to the store and the cache; a cache outage is logged once and refilled from the store after', async () => {
    const f = stageFixture();
    try {
      const t0 = Date.UTC(2024, 0, 3);
      await f.sinks.writeBars(bars(t0, 10));
      expect(await f.cache.latestBars('EURUSD', '1m', 100)).toHaveLength(10);
      f.cache.down = true;
      await f.sinks.writeBars(bars(t0 + 10 * MIN, 5));
      await f.sinks.writeBars(bars(t0 + 15 * MIN, 5));
      expect(f.log.entries.filter((e) => e.message === 'hot cache write failed')).toHaveLength(1);
      f.cache.down = false;
      await f.sinks.writeBars(bars(t0 + 20 * MIN, 1));
      // The outage's bars came back from the store, not only the bar written since.
      expect(await f.cache.latestBars('EURUSD', '1m', 100)).toHaveLength(21);
      expect(f.log.text()).toMatch(/refilled from SQLite/);
      expect(await f.store.latest('EURUSD', '1m', 100)).toHaveLength(21);
    } finally {
      await f.close();
    }
  });

  it('refills the cache the moment it reports ready after an outage, without waiting for a bar', async () => {
    const f = stageFixture();
    const listeners: ((c: { status: 'ready' | 'down'; previous: string }) => void)[] = [];
    const cache = Object.assign(f.cache, {
      onStatusChange(fn: (c: { status: 'ready' | 'down'; previous: string }) => void) {
        listeners.push(fn);
        return { dispose: () => undefined };
      },
    });
    const setDown = (down: boolean) => {
      cache.down = down;
      for (const l of listeners)
        l(down ? { status: 'down', previous: 'ready' } : { status: 'ready', previous: 'down' });
    };
    try {
      const sinks = createSinks({
        store: f.store,
        cache,
        symbols: f.config.symbols,
        timeframe: '1m',
        maxBarsCache: 100,
        log: f.log,
      });
      const t0 = Date.UTC(2024, 0, 3);
      await sinks.writeBars(bars(t0, 10));
      setDown(true);
      await sinks.writeBars(bars(t0 + 10 * MIN, 5));
      // Redis restarted empty; it reconnects, and no bar is written after that.
      await f.cache.close();
      const fresh = createMemoryHotCache({ maxBars: 5000 });
      Object.assign(cache, {
        writeBars: fresh.writeBars.bind(fresh),
        latestBars: fresh.latestBars.bind(fresh),
      });
      setDown(false);
      await sinks.idle();
      expect(await cache.latestBars('EURUSD', '1m', 100)).toHaveLength(15);
      expect(f.log.text()).toMatch(/refilled from SQLite/);
    } finally {
      await f.close();
    }
  });

  it('cluster mode: a refill writes only the symbols this instance owns', async () => {
    // Another instance owns XAUUSD: its cache may hold a newer forming bar than the shared history
    // (the owner flushes every BATCH_WRITE_INTERVAL), which a refill from here would overwrite.
    const f = stageFixture();
    const owned = new Set(['EURUSD']);
    try {
      const sinks = createSinks({
        store: f.store,
        cache: f.cache,
        symbols: f.config.symbols,
        timeframe: '1m',
        maxBarsCache: 100,
        log: f.log,
        owns: (s) => owned.has(s),
      });
      const t0 = Date.UTC(2024, 0, 3);
      f.store.write([...bars(t0, 10), ...bars(t0, 10, 'XAUUSD')]);
      await f.store.flush();
      // The owner of XAUUSD has written a newer version of its last minute to the shared cache.
      const [last] = bars(t0 + 9 * MIN, 1, 'XAUUSD');
      const newer = { ...last, close: 1.19, high: 1.2, final: false } as Bar;
      await f.cache.writeBars([newer]);
      expect(await sinks.fillCache()).toBe(true);
      expect(await f.cache.latestBars('EURUSD', '1m', 100)).toHaveLength(10);
      const x = await f.cache.latestBars('XAUUSD', '1m', 100);
      expect(x).toHaveLength(1);
      expect(x[0]).toMatchObject({ close: 1.19, final: false }); // not replaced by the stored version
      // Once this instance owns it (a takeover), a refill includes it (the stored version lands).
      owned.add('XAUUSD');
      expect(await sinks.fillCache()).toBe(true);
      expect((await f.cache.latestBars('XAUUSD', '1m', 100)).at(-1)).toMatchObject({
        close: 1.15,
        final: true,
      });
    } finally {
      await f.close();
    }
  });

  it('a cache fill gives the loop back (its timers run) between a read that held it a slice and the write', async () => {
    const f = stageFixture();
    try {
      const t0 = Date.UTC(2024, 0, 3);
      f.store.write([...bars(t0, 10), ...bars(t0, 10, 'XAUUSD')]);
      await f.store.flush();
      let timerRan = false;
      const seen: boolean[] = [];
      const cache = {
        ...f.cache,
        writeBars: (written: readonly Bar[]) => {
          seen.push(timerRan);
          return f.cache.writeBars(written);
        },
      };
      const sinks = createSinks({
        store: f.store,
        cache,
        symbols: ['EURUSD'],
        timeframe: '1m',
        maxBarsCache: 100,
        log: f.log,
      });
      // The read holds the loop longer than a slice (a warm start's indicators run there), and a
      // timer falls due meanwhile.
      const read = async (symbol: string, limit: number) => {
        const history = await f.store.latest(symbol, '1m', limit);
        setTimeout(() => (timerRan = true), 0);
        const end = performance.now() + SLICE_MS + 2;
        while (performance.now() < end);
        return history;
      };
      expect(await sinks.fillCache(read)).toBe(true);
      expect(seen).toEqual([true]);
      expect(await f.cache.latestBars('EURUSD', '1m', 100)).toHaveLength(10);
    } finally {
      await f.close();
    }
  });

  it('publishes signals and features to the cache and never rejects', async () => {
    const f = stageFixture();
    try {
      const state = f.states.get('EURUSD');
      const [first] = bars(0, 1);
      if (!first) throw new Error('no bar');
      const s = f.signals.evaluate(state, first, { ema12: 1 }, f.clock.now());
      await f.sinks.publish(f.signals.drain());
      expect(s.symbol).toBe('EURUSD');
      await expect(f.sinks.publish([])).resolves.toBeUndefined();
    } finally {
      await f.close();
    }
  });
});
