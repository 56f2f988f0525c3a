// The mirror of cluster mode: every instance answers reads for every symbol, so the last bar, signal
// and features of the symbols OTHER instances own are copied from the shared cache into this
// instance's read state, once per cycle and off the cycle's critical path.
import { type Bar, type Timeframe } from '@pipeline/core';
import { type FeatureValues } from '../ports';
import { type SymbolStates } from '../state/symbol-state';
import { type StoredSignal } from '../strategy/scanner';

/** What the mirror reads from the shared cache (redis-kb's HotCache has all of it). */
export interface ClusterMirrorCache {
  lastBar(symbol: string, timeframe: Timeframe): Promise<Bar | null>;
  getSignals(symbols: readonly string[]): Promise<Map<string, Record<string, unknown>>>;
  getFeatures(symbol: string): Promise<Record<string, unknown> | null>;
}

/**
 * Symbols owned elsewhere read per refresh at most (round-robin over them): the mirror's Redis work
 * per cycle is bounded whatever the cluster's size, and each such symbol is read again at least every
 * ceil(owned elsewhere / MIRROR_PER_REFRESH) cycles (bench/cluster-throughput.bench.ts: reading every
 * one of them every cycle cost each instance more CPU than collecting its own share).
 */
export const MIRROR_PER_REFRESH = 200;

export interface ClusterMirrorOptions {
  cache: ClusterMirrorCache;
  symbols: readonly string[];
  timeframe: Timeframe;
  states: SymbolStates;
  isOwner: (symbol: string) => boolean;
  /** Signals of other owners land in the local book (read by /signals). */
  adoptSignal: (signal: StoredSignal) => void;
  now: () => number;
  /** @default MIRROR_PER_REFRESH */
  perRefresh?: number;
}

export interface ClusterMirror {
  /**
   * Copies the others' last bars, signals and features: all of them when they are at most
   * `perRefresh`, else the next `perRefresh` of them in turn.
   */
  refresh(): Promise<void>;
  /** Mirrored features of a symbol owned elsewhere (null when none was read yet). */
  features(symbol: string): FeatureValues | undefined;
  /** Forget a symbol's mirrored features (this instance owns it now). */
  forget(symbol: string): void;
}

export function createClusterMirror(options: ClusterMirrorOptions): ClusterMirror {
  const { states } = options;
  const mirroredFeatures = new Map<string, FeatureValues>();
  const perRefresh = Math.max(1, options.perRefresh ?? MIRROR_PER_REFRESH);
  /** Where the next partial refresh starts in the list of symbols owned elsewhere. */
  let cursor = 0;

  function adoptBar(symbol: string, bar: Bar | null): void {
    const state = states.get(symbol);
    if (!bar || (state.lastBar && bar.ts < state.lastBar.ts)) return;
    if (!state.lastBar || bar.ts !== state.lastBar.ts || bar.close !== state.lastBar.close)
      state.lastSuccessAt = options.now();
    state.lastBar = bar;
  }

  function adoptFeatures(symbol: string, f: Record<string, unknown> | null): void {
    if (!f) return;
    const values: Record<string, number | null> = {};
    for (const [k, v] of Object.entries(f)) if (k !== 'dataTs') values[k] = typeof v === 'number' ? v : null;
    mirroredFeatures.set(symbol, values);
  }

  function adoptSignal(symbol: string, signal: Record<string, unknown> | undefined): void {
    if (!signal) return;
    const stored = signal as unknown as StoredSignal;
    options.adoptSignal(stored);
    // The owner's last data time: the age readers see is the owner's, not this mirror's.
    const state = states.get(symbol);
    if (typeof stored.dataAt === 'number' && stored.dataAt > (state.lastSuccessAt ?? 0))
      state.lastSuccessAt = stored.dataAt;
  }

  return {
    async refresh() {
      const all = options.symbols.filter((s) => !options.isOwner(s));
      if (all.length === 0) return;
      let others = all;
      if (all.length > perRefresh) {
        cursor %= all.length;
        others = all.slice(cursor, cursor + perRefresh);
        if (others.length < perRefresh) others = [...others, ...all.slice(0, perRefresh - others.length)];
        cursor = (cursor + perRefresh) % all.length;
      }
      const [lasts, signals] = await Promise.all([
        Promise.all(others.map((s) => options.cache.lastBar(s, options.timeframe))),
        options.cache.getSignals(others),
      ]);
      // The owner publishes a symbol's features as its signal's indicators (pipeline/sinks.ts
      // publish): they come with the signal. Only a symbol without a signal yet is asked for its
      // features key (one read per symbol and refresh was a third of the mirror's Redis work).
      const noSignal: string[] = [];
      others.forEach((symbol, i) => {
        adoptBar(symbol, lasts[i] ?? null);
        const signal = signals.get(symbol);
        adoptSignal(symbol, signal);
        const indicators = signal?.indicators;
        if (indicators && typeof indicators === 'object')
          adoptFeatures(symbol, indicators as Record<string, unknown>);
        else noSignal.push(symbol);
      });
      const features = await Promise.all(noSignal.map((s) => options.cache.getFeatures(s)));
      noSignal.forEach((symbol, i) => adoptFeatures(symbol, features[i] ?? null));
    },
    features: (symbol) => mirroredFeatures.get(symbol),
    forget: (symbol) => void mirroredFeatures.delete(symbol),
  };
}
