// Warm start: the newest stored history goes through the indicators (so the first live bar
// continues it) and into the hot cache, before the service goes live.
import { type Timeframe } from '@pipeline/core';
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

/** Feeds the newest stored history to the indicators and the cache so the first live bar continues it. */
export async function warmStart(options: WarmOptions): Promise<void> {
  // A few ms at a time: thousands of symbols read and fed here would hold the loop for seconds.
  const slice = createSlicer();
  for (const symbol of options.symbols) {
    await slice();
    const history = await options.store.latest(symbol, options.timeframe, WARM_BARS);
    const last = history.at(-1);
    if (!last) continue;
    for (const bar of history) options.features.update(bar);
    options.states.get(symbol).lastBar = last;
  }
  // A failed fill marks the cache for a refill after the next successful write.
  await options.sinks.fillCache();
}
