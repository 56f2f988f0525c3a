// The read model: everything the HTTP API reads, answered from memory (symbol state, signal book,
// indicators) and the hot cache, completed from the store when the cache falls short.
import { type Bar, type Clock, type Timeframe } from '@pipeline/core';
import { UnknownSymbolError } from '../errors';
import {
  type BarCachePort,
  type BarStorePort,
  type FeatureEnginePort,
  type FeatureValues,
  type SymbolPort,
} from '../ports';
import { type Signal } from '../strategy/scanner';
import { type SignalBook } from '../strategy/signals';
import { type Logger } from '../wiring/logger';
import { type SymbolState, type SymbolStates } from './symbol-state';

export interface ReadModel {
  /** Resolves any spelling to the generic symbol; throws UnknownSymbolError. */
  resolveSymbol(input: string): string;
  signal(symbol: string): Signal | null;
  signals(): Signal[];
  bars(
    symbol: string,
    timeframe: Timeframe,
    limit: number,
  ): Promise<{ bars: Bar[]; stale: boolean; ageMs: number | null }>;
  /**
   * Bars with `from <= ts < to`, oldest first, at most `limit` from `from`: the store's committed rows
   * with the hot cache's copy winning (it holds what is not flushed yet).
   */
  barsRange(
    symbol: string,
    timeframe: Timeframe,
    from: number,
    to: number,
    limit: number,
  ): Promise<{ bars: Bar[]; stale: boolean; ageMs: number | null }>;
  features(symbol: string): { values: FeatureValues; dataTs: number | null; stale: boolean } | null;
  /**
   * {@link features} without its object (the push stream's feed asks once per symbol per cycle): the
   * values, or null (then `out` is left as it was); their data time and stale flag are written to `out`.
   */
  featuresInto(symbol: string, out: FeaturesFacts): FeatureValues | null;
  symbolState(symbol: string): SymbolState | undefined;
}

/** Where {@link ReadModel.featuresInto} writes. */
export interface FeaturesFacts {
  /** `features().dataTs`, with NaN for null (a number field is rewritten in place). */
  dataTs: number;
  stale: boolean;
}

export interface ReadModelOptions {
  clock: Clock;
  states: SymbolStates;
  signals: Pick<SignalBook, 'get' | 'all'>;
  features: Pick<FeatureEnginePort, 'latest'>;
  cache: Pick<BarCachePort, 'latestBars'>;
  store: Pick<BarStorePort, 'latest' | 'range'>;
  symbols: Pick<SymbolPort, 'resolve' | 'suggest'>;
  log: Logger;
}

export function createReadModel(options: ReadModelOptions): ReadModel {
  const { clock, states, cache, store, log } = options;
  return {
    resolveSymbol(input) {
      const upper = input.trim();
      if (states.has(upper)) return upper;
      const generic = options.symbols.resolve(upper);
      if (generic !== null && states.has(generic)) return generic;
      throw new UnknownSymbolError(
        input,
        options.symbols.suggest(input).filter((s) => states.has(s)),
      );
    },
    signal: (symbol) => options.signals.get(symbol),
    signals: () => options.signals.all(),
    async bars(symbol, timeframe, limit) {
      const state = states.get(symbol);
      let bars: Bar[] = [];
      try {
        bars = await cache.latestBars(symbol, timeframe, limit);
      } catch (err) {
        log.warn('hot cache read failed; reading SQLite', { symbol, err });
      }
      if (bars.length < limit) {
        // The cache holds the newest bars only (or nothing after a Redis loss): complete from the
        // store, the cache's copy winning where both have a bar.
        const stored = await store.latest(symbol, timeframe, limit);
        if (stored.length > bars.length) {
          const byTs = new Map(stored.map((b) => [b.ts, b]));
          for (const b of bars) byTs.set(b.ts, b);
          bars = [...byTs.values()].sort((a, b) => a.ts - b.ts).slice(-limit);
        }
      }
      return { bars, ...states.freshness(state, clock.now()) };
    },
    async barsRange(symbol, timeframe, from, to, limit) {
      const state = states.get(symbol);
      const stored = await store.range({ symbol, timeframe, from, to }, limit);
      const byTs = new Map(stored.map((b) => [b.ts, b]));
      try {
        for (const b of await cache.latestBars(symbol, timeframe, limit)) {
          if (b.ts >= from && b.ts < to) byTs.set(b.ts, b);
        }
      } catch (err) {
        log.warn('hot cache read failed; reading SQLite', { symbol, err });
      }
      const bars = [...byTs.values()].sort((a, b) => a.ts - b.ts).slice(0, limit);
      return { bars, ...states.freshness(state, clock.now()) };
    },
    features(symbol) {
      const values = options.features.latest(symbol);
      if (!values) return null;
      const state = states.get(symbol);
      const { stale } = states.freshness(state, clock.now());
      return { values, dataTs: state.lastBar?.ts ?? null, stale };
    },
    featuresInto(symbol, out) {
      const values = options.features.latest(symbol);
      if (!values) return null;
      const state = states.get(symbol);
      out.stale = states.stale(state, clock.now());
      out.dataTs = state.lastBar !== null ? state.lastBar.ts : Number.NaN;
      return values;
    },
    symbolState: (symbol) => states.find(symbol),
  };
}
