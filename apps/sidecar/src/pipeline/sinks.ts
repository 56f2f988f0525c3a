// Sinks: where accepted bars and new signals go. The store gets every bar (buffered, flushed on its
// own timer); the hot cache gets them too, but cache trouble never stops collection: failures are
// counted and logged throttled, and the moment the cache reports it is ready again (its status
// event, or the next write where it has none) it is refilled from the store.
import { type Bar, type Timeframe } from '@pipeline/core';
import { type Logger } from '../wiring/logger';
import { type BarCachePort, type BarStorePort } from '../ports';
import { type StoredSignal } from '../strategy/scanner';
import { createSlicer } from './slice';

/** Bars per hot-cache write when filling it from the store. */
const CACHE_FILL_BATCH = 20_000;

export interface SinksOptions {
  store: BarStorePort;
  cache: BarCachePort;
  symbols: readonly string[];
  timeframe: Timeframe;
  /** MAX_BARS_CACHE: bars per series written when the cache is filled from the store. */
  maxBarsCache: number;
  log: Logger;
  /**
   * Cluster mode: the symbols this instance owns now. A refill writes only those: the others' owners
   * refill their own (their cache may hold a newer forming bar than the shared history, which a
   * refill by a non-owner would overwrite with the older stored version). @default every symbol
   */
  owns?: (symbol: string) => boolean;
}

export interface Sinks {
  /** Buffers the bars for the store and writes them to the hot cache (never rejects). */
  writeBars(bars: readonly Bar[]): Promise<void>;
  /** Writes signals and their features to the hot cache for its other readers (never rejects). */
  publish(signals: readonly StoredSignal[]): Promise<void>;
  /** Resolves when a running refill (if any) is over. */
  idle(): Promise<void>;
  /**
   * Writes the newest MAX_BARS_CACHE stored bars of every symbol to the hot cache, oldest first, in
   * batches: at start, and after the cache comes back empty from an outage (other readers of Redis
   * then see the full window again, the outage's bars included, not only what arrived since).
   * Resolves false (and marks the cache for a refill) when it failed. `read` replaces the store
   * read of a symbol's newest `limit` bars (the warm start reads once for its indicators and the
   * fill); it may return more, of which the newest `limit` are written. `symbols` fills only those
   * (the warm start fills each symbol once its bootstrap is written). @default every symbol
   */
  fillCache(read?: FillRead, symbols?: readonly string[]): Promise<boolean>;
}

/** A symbol's newest stored bars, oldest first: at least the newest `limit` of them. */
export type FillRead = (symbol: string, limit: number) => Promise<readonly Bar[]>;

/** Log the first failure of a streak and then every 60th, not every second. */
const worthLogging = (n: number) => n === 1 || n % 60 === 0;

export function createSinks(options: SinksOptions): Sinks {
  const { store, cache, log } = options;
  let cacheFailures = 0;
  /** A cache write failed: once the cache is ready again it is refilled from the store. */
  let needsRefill = false;
  let refilling: Promise<void> | undefined;

  async function fillFromStore(
    read: FillRead = (symbol, limit) => store.latest(symbol, options.timeframe, limit),
    symbols: readonly string[] = options.symbols,
  ): Promise<boolean> {
    try {
      await store.flush();
      let batch: Bar[] = [];
      const slice = createSlicer();
      for (const symbol of symbols) {
        if (options.owns && !options.owns(symbol)) continue;
        await slice();
        const bars = await read(symbol, options.maxBarsCache);
        // The newest maxBarsCache, without a copy of them first.
        for (let i = Math.max(0, bars.length - options.maxBarsCache); i < bars.length; i++) {
          const bar = bars[i];
          if (bar) batch.push(bar);
        }
        if (batch.length >= CACHE_FILL_BATCH) {
          await slice();
          await cache.writeBars(batch);
          batch = [];
        }
      }
      if (batch.length > 0) {
        await slice();
        await cache.writeBars(batch);
      }
      return true;
    } catch (err) {
      log.warn('filling the hot cache from SQLite failed; retried after the next successful write', { err });
      return false;
    }
  }

  function refillIfReady(): Promise<void> | undefined {
    if (needsRefill && cache.health().status === 'ready') {
      refilling ??= fillFromStore().then((ok) => {
        if (ok) {
          needsRefill = false;
          log.info('hot cache refilled from SQLite after an outage', { symbols: options.symbols.length });
        }
        refilling = undefined;
      });
    }
    return refilling;
  }

  // At reconnect, not at the next fetched bar (which may be long in coming when every source
  // fails): a cache that was down may have lost its contents (a Redis restart), so it is refilled.
  cache.onStatusChange?.((change) => {
    if (change.status === 'down') needsRefill = true;
    else if (change.status === 'ready' && change.previous !== 'ready') {
      if (change.previous === 'down') needsRefill = true;
      void refillIfReady();
    }
  });

  async function writeCache(bars: readonly Bar[]): Promise<void> {
    await refillIfReady();
    try {
      await cache.writeBars(bars);
    } catch (err) {
      needsRefill = true;
      cacheFailures++;
      if (worthLogging(cacheFailures))
        log.error('hot cache write failed', { err, bars: bars.length, failures: cacheFailures });
    }
  }

  return {
    async writeBars(bars) {
      store.write(bars);
      await writeCache(bars);
    },
    async publish(batch) {
      if (batch.length === 0) return;
      try {
        await Promise.all(
          batch.flatMap((s) => [
            cache.setFeatures(s.symbol, { ...s.indicators, dataTs: s.dataTs }),
            cache.setSignal(s.symbol, { ...s }),
          ]),
        );
      } catch (err) {
        cacheFailures++;
        if (worthLogging(cacheFailures))
          log.error('hot cache signal publish failed', { err, failures: cacheFailures });
      }
    },
    async idle() {
      await refilling;
    },
    async fillCache(read, symbols) {
      const ok = await fillFromStore(read, symbols);
      if (!ok) needsRefill = true;
      return ok;
    },
  };
}
