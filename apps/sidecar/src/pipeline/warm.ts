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
  /** MAX_BARS_CACHE: the bars per symbol the cache fill asks for (sets {@link Warmer.keepBars}). @default 0 */
  cacheBars?: number;
  /**
   * Given, it queues the finished periods still stored as forming (a restart after a crash), from
   * the same read, once every symbol is warmed. @default no scan
   */
  finalizer?: Pick<Finalizer, 'scanBars'>;
}

/**
 * Bars of handed-over histories held at once (about 100 MB): beyond, a symbol is read back from the
 * store as before (the background warm fell behind the bootstrap).
 */
const MAX_PENDING_BARS = 1_000_000;

/** The warm start, symbol by symbol as each one's history is complete, then the rest. */
export interface Warmer {
  /**
   * `symbol`'s history is complete (its bootstrap chunks are written and nothing else writes it
   * before live): it is warmed in the background, one symbol after the other, overlapping the rest
   * of the bootstrap. Ignored once `isCancelled` says so. `history`, when given, is what the store
   * holds of the symbol at the timeframe, oldest first: all of it when fewer than `keepBars` bars,
   * else the newest `keepBars` (runBootstrap's `onSymbolDone` with `keepNewest: keepBars`). It then
   * replaces the symbol's store read (indicators, cache fill and finaliser scan take the same bars).
   */
  symbolReady(symbol: string, history?: readonly Bar[]): void;
  /** Bars per symbol one read serves (indicators, cache fill, finaliser scan): what to keep for `symbolReady`. */
  readonly keepBars: number;
  /** Waits for the symbols warmed in the background, warms the others, then runs the finaliser's scan. */
  finish(): Promise<void>;
  /** Resolves when the background warming (if any) is over. */
  idle(): Promise<void>;
}

/**
 * Feeds the newest stored history to the indicators and the cache so the first live bar continues
 * it, and (with a finalizer) queues the finished periods still stored as forming. One read per
 * symbol serves all three: the cache fill asks for its MAX_BARS_CACHE bars, the indicators take the
 * newest WARM_BARS of the same read and the finalizer the newest FINALIZE_SCAN_BARS (the store is
 * not written meanwhile).
 */
export function createWarmer(options: WarmOptions & { isCancelled?: () => boolean }): Warmer {
  const depth = Math.max(WARM_BARS, options.finalizer ? FINALIZE_SCAN_BARS : 0);
  const keepBars = Math.max(depth, options.cacheBars ?? 0);
  /** Histories handed over by `symbolReady`, not yet warmed (at most MAX_PENDING_BARS bars in all). */
  const pending = new Map<string, readonly Bar[]>();
  let pendingBars = 0;
  /** `symbol`'s handed-over history if it has the newest `limit` stored bars (it is dropped either way). */
  const take = (symbol: string, limit: number): readonly Bar[] | undefined => {
    const history = pending.get(symbol);
    if (!history) return undefined;
    pending.delete(symbol);
    pendingBars -= history.length;
    // Fewer than keepBars: every stored bar; else the newest keepBars.
    return history.length < keepBars || history.length >= limit ? history : undefined;
  };
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
  const read = async (symbol: string, limit: number) => {
    const need = Math.max(limit, depth);
    const history = take(symbol, need) ?? (await options.store.latest(symbol, options.timeframe, need));
    warm(symbol, history);
    return history;
  };
  // A failed fill marks the cache for a refill after the next successful write (fillCache never rejects).
  let background: Promise<unknown> = Promise.resolve();
  return {
    keepBars,
    symbolReady(symbol, history) {
      if (options.isCancelled?.()) return;
      if (history && !warmed.has(symbol) && pendingBars + history.length <= MAX_PENDING_BARS) {
        pending.set(symbol, history);
        pendingBars += history.length;
      }
      background = background.then(() =>
        options.isCancelled?.() || warmed.has(symbol) ? undefined : options.sinks.fillCache(read, [symbol]),
      );
    },
    async idle() {
      await background;
    },
    async finish() {
      await background;
      const rest = options.symbols.filter((s) => !warmed.has(s));
      if (rest.length > 0) await options.sinks.fillCache(read, rest);
      // Symbols the fill did not read (it failed part way, or leaves them to another owner): their own
      // read, a few ms at a time (thousands of symbols read and fed at once would hold the loop for seconds).
      const slice = createSlicer();
      for (const symbol of options.symbols) {
        if (warmed.has(symbol)) continue;
        await slice();
        warm(symbol, take(symbol, depth) ?? (await options.store.latest(symbol, options.timeframe, depth)));
      }
      // After the warm, as the separate scan of the store ran before: a period that ended meanwhile counts.
      const { finalizer } = options;
      if (finalizer)
        for (const symbol of options.symbols) finalizer.scanBars(symbol, warmed.get(symbol) ?? []);
    },
  };
}

/** {@link createWarmer} for every symbol at once (no bootstrap running). */
export async function warmStart(options: WarmOptions): Promise<void> {
  await createWarmer(options).finish();
}
