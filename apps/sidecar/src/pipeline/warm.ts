// Warm start: the newest stored history goes through the indicators (so the first live bar
// continues it) and into the hot cache, before the service goes live.
import { type Bar, type Timeframe } from '@pipeline/core';
import { type BarStorePort, type FeatureEnginePort } from '../ports';
import { type SymbolStates } from '../state/symbol-state';
import { FINALIZE_SCAN_BARS, type Finalizer } from './finalizer';
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
  /**
   * Given, it queues the finished periods still stored as forming (a restart after a crash), from
   * the same read, once every symbol is warmed. @default no scan
   */
  finalizer?: Pick<Finalizer, 'scanBars'>;
}

/**
 * Feeds the newest stored history to the indicators and the cache so the first live bar continues
 * it, and (with a finalizer) queues the finished periods still stored as forming. One read per
 * symbol serves all three: the cache fill asks for its MAX_BARS_CACHE bars, the indicators take the
 * newest WARM_BARS of the same read and the finalizer the newest FINALIZE_SCAN_BARS (the store is
 * not written meanwhile).
 */
export async function warmStart(options: WarmOptions): Promise<void> {
  const depth = Math.max(WARM_BARS, options.finalizer ? FINALIZE_SCAN_BARS : 0);
  /** Per symbol warmed, its rows still marked forming among the newest FINALIZE_SCAN_BARS, for the scan. */
  const warmed = new Map<string, Bar[]>();
  const warm = (symbol: string, history: readonly Bar[]) => {
    const forming: Bar[] = [];
    if (options.finalizer) {
      for (let i = Math.max(0, history.length - FINALIZE_SCAN_BARS); i < history.length; i++) {
        const bar = history[i];
        if (bar && !bar.final) forming.push(bar);
      }
    }
    warmed.set(symbol, forming);
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
    const history = await options.store.latest(symbol, options.timeframe, Math.max(limit, depth));
    warm(symbol, history);
    return history;
  });
  // Symbols the fill did not read (it failed part way, or leaves them to another owner): their own
  // read, a few ms at a time (thousands of symbols read and fed at once would hold the loop for seconds).
  const slice = createSlicer();
  for (const symbol of options.symbols) {
    if (warmed.has(symbol)) continue;
    await slice();
    warm(symbol, await options.store.latest(symbol, options.timeframe, depth));
  }
  // After the warm, as the separate scan of the store ran before: a period that ended meanwhile counts.
  const { finalizer } = options;
  if (finalizer) for (const symbol of options.symbols) finalizer.scanBars(symbol, warmed.get(symbol) ?? []);
}
