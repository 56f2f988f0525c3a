// Warm start: the newest stored history goes through the indicators (so the first live bar
// continues it) and into the hot cache, before the service goes live.
import { type Bar, type Timeframe } from '@pipeline/core';
import { type BarStorePort, type FeatureEnginePort } from '../ports';
import { type SymbolStates } from '../state/symbol-state';
import { createSlicer } from './slice';
import { type Sinks } from './sinks';

/** Stored bars fed to the indicators before going live (enough for every default indicator to be stable). */
export const WARM_BARS = 500;

export interface WarmOptions {
  symbols: readonly string[];
  timeframe: Timeframe;
  store: Pick<BarStorePort, 'latest'>;
  features: Pick<FeatureEnginePort, 'update'>;
  states: SymbolStates;
  sinks: Pick<Sinks, 'fillCache'>;
}

/**
 * Feeds the newest stored history to the indicators and the cache so the first live bar continues
 * it. One read per symbol serves both: the cache fill asks for its MAX_BARS_CACHE bars and the
 * indicators take the newest WARM_BARS of the same read (the store is not written meanwhile).
 */
export async function warmStart(options: WarmOptions): Promise<void> {
  const warmed = new Set<string>();
  const warm = (symbol: string, history: readonly Bar[]) => {
    warmed.add(symbol);
    const last = history.at(-1);
    if (!last) return;
    for (let i = Math.max(0, history.length - WARM_BARS); i < history.length; i++) {
      const bar = history[i];
      if (bar) options.features.update(bar);
    }
    options.states.get(symbol).lastBar = last;
  };
  // A failed fill marks the cache for a refill after the next successful write.
  await options.sinks.fillCache(async (symbol, limit) => {
    const history = await options.store.latest(symbol, options.timeframe, Math.max(limit, WARM_BARS));
    warm(symbol, history);
    return history;
  });
  // Symbols the fill did not read (it failed part way, or leaves them to another owner): their own
  // read, a few ms at a time (thousands of symbols read and fed at once would hold the loop for seconds).
  const slice = createSlicer();
  for (const symbol of options.symbols) {
    if (warmed.has(symbol)) continue;
    await slice();
    warm(symbol, await options.store.latest(symbol, options.timeframe, WARM_BARS));
  }
}
