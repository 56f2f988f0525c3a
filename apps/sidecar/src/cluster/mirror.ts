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

export interface ClusterMirrorOptions {
  cache: ClusterMirrorCache;
  symbols: readonly string[];
  timeframe: Timeframe;
  states: SymbolStates;
  isOwner: (symbol: string) => boolean;
  /** Signals of other owners land in the local book (read by /signals). */
  adoptSignal: (signal: StoredSignal) => void;
  now: () => number;
}

export interface ClusterMirror {
  /** Copies the others' last bars, signals and features; one refresh reads each symbol once. */
  refresh(): Promise<void>;
  /** Mirrored features of a symbol owned elsewhere (null when none was read yet). */
  features(symbol: string): FeatureValues | undefined;
  /** Forget a symbol's mirrored features (this instance owns it now). */
  forget(symbol: string): void;
}

export function createClusterMirror(options: ClusterMirrorOptions): ClusterMirror {
  const { states } = options;
  const mirroredFeatures = new Map<string, FeatureValues>();

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
      const others = options.symbols.filter((s) => !options.isOwner(s));
      if (others.length === 0) return;
      const [lasts, signals, features] = await Promise.all([
        Promise.all(others.map((s) => options.cache.lastBar(s, options.timeframe))),
        options.cache.getSignals(others),
        Promise.all(others.map((s) => options.cache.getFeatures(s))),
      ]);
      others.forEach((symbol, i) => {
        adoptBar(symbol, lasts[i] ?? null);
        adoptFeatures(symbol, features[i] ?? null);
        adoptSignal(symbol, signals.get(symbol));
      });
    },
    features: (symbol) => mirroredFeatures.get(symbol),
    forget: (symbol) => void mirroredFeatures.delete(symbol),
  };
}
